"""The load generator of ``bench/opening``: one asyncio process with aiohttp (no Django
in the loop), cheap in CPU. Buyers pick through the buyer API, scripted bots fire every
200 ms, phones poll the free-unit view; every request goes as the TLS proxy in front of
production would pass it on (``X-Forwarded-Proto: https``, the client's address in
``X-Forwarded-For``, the proxy being trusted by ``LOUPAN_TRUSTED_PROXIES``)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import multiprocessing
import random
import re
import threading
import time
from array import array
from collections import Counter
from urllib.parse import urlsplit

import aiohttp
import uvloop

HTTPS = {"X-Forwarded-Proto": "https"}


def run(coroutine):
    """``asyncio.run`` on uvloop's event loop (libuv: less CPU a request and a frame)."""
    return uvloop.run(coroutine)


def percentile(samples, p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * p / 100 + 0.999999) - 1))]


def busiest(times, window: float = 1.0) -> int:
    """The most of ``times`` (seconds) that fall within one ``window``."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] > window:
            first += 1
        most = max(most, last - first + 1)
    return most


def by_second(sent, latency) -> list[tuple[int, int, float, float]]:
    """(second of the opening, requests sent in it, their p50, p99)."""
    seconds: dict[int, list[float]] = {}
    for at, took in zip(sent, latency, strict=True):
        seconds.setdefault(int(at), []).append(took)
    return [(s, len(v), percentile(v, 50), percentile(v, 99)) for s, v in sorted(seconds.items())]


def buyer_address(i: int) -> str:
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


class Seen(set):
    """The units a phone holds as picked, and how many of them are the run's."""

    run = 0


class FreeUnits:
    """The units the generator knows to be free: O(1) random choice and removal."""

    def __init__(self, ids):
        self.ids = list(ids)
        self.at = {u: i for i, u in enumerate(self.ids)}

    def __len__(self):
        return len(self.ids)

    def choice(self):
        return self.ids[random.randrange(len(self.ids))] if self.ids else None

    def discard(self, unit):
        i = self.at.pop(unit, None)
        if i is None:
            return
        last = self.ids.pop()
        if last != unit:
            self.ids[i] = last
            self.at[last] = i


async def hammer(base: str, path: str, *, concurrency: int, seconds: float) -> dict:
    """GET ``path`` from ``concurrency`` clients for ``seconds``: requests/s served."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    served, failed, latencies = 0, 0, []
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(base, connector=connector, headers=HTTPS) as session:

        async def client():
            nonlocal served, failed
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                async with session.get(path) as response:
                    await response.read()
                    if response.status == 200:
                        served += 1
                        latencies.append(time.perf_counter() - start)
                    else:
                        failed += 1

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {
        "rate": served / elapsed,
        "failed": failed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
    }


def dechunk(buf: bytearray, body: bytearray) -> bool:
    """Move the complete chunks at the head of ``buf`` (a chunked HTTP body) into
    ``body``; True once the last (empty) chunk is in."""
    while (nl := buf.find(b"\r\n")) >= 0:
        size = int(bytes(buf[:nl]).split(b";")[0], 16)
        if len(buf) < nl + 4 + size:
            return False
        body += buf[nl + 2 : nl + 2 + size]
        del buf[: nl + 4 + size]
        if size == 0:
            return True
    return False


_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)")


def response_head(buf: bytearray):
    """The head of the HTTP response at the start of ``buf``, taken off it: (status,
    Content-Length or None, chunked, closing); None while it is incomplete."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).lower()
    del buf[: end + 4]
    length = _LENGTH.search(head)
    return (
        int(head[9:12]),
        int(length[1]) if length else None,
        b"\r\ntransfer-encoding: chunked" in head,
        b"\r\nconnection: close" in head,
    )


class Upstream(asyncio.Protocol):
    """One keep-alive connection of the proxy (the generator) to the server, one request
    at a time, the answer read by its Content-Length or its chunks: a pick request costs
    the generator a fraction of aiohttp's client (the generator shares the two cores)."""

    def __init__(self):
        self.transport = None
        self.closed = False
        self._buf = bytearray()
        self._body = bytearray()
        self._head = None
        self._waiter: asyncio.Future | None = None

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionResetError("the server closed the connection"))

    def data_received(self, data):
        buf = self._buf
        buf += data
        if self._waiter is None or self._waiter.done():
            return
        if self._head is None:
            self._head = response_head(buf)
            if self._head is None:
                return
        status, length, _chunked, close = self._head
        if length is not None:
            if len(buf) < length:
                return
            body = bytes(buf[:length])
            del buf[:length]
        else:
            if not dechunk(buf, self._body):
                return
            body = bytes(self._body)
            self._body.clear()
        self._head = None
        if close:
            self.closed = True
            self.transport.close()
        self._waiter.set_result((status, body))

    async def send(self, request: bytes, timeout: float):
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        self.transport.write(request)
        late = loop.call_later(timeout, self.transport.close)  # connection_lost answers
        try:
            return await self._waiter
        finally:
            late.cancel()


class Upstreams:
    """The proxy's pool of keep-alive connections to one server (at most ``limit``)."""

    def __init__(self, base: str, limit: int, timeout: float = 60.0):
        target = urlsplit(base)
        self.host, self.port, self.netloc = target.hostname, target.port, target.netloc
        self.idle: list[Upstream] = []
        self.slots = asyncio.Semaphore(limit)
        self.timeout = timeout

    async def post(self, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.netloc}\r\nX-Forwarded-Proto: https\r\n"
            f"Content-Length: {len(body)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + "\r\n"
        ).encode() + body
        async with self.slots:
            if self.idle:
                upstream = self.idle.pop()
            else:
                _transport, upstream = await asyncio.get_running_loop().create_connection(
                    Upstream, self.host, self.port
                )
            try:
                answer = await upstream.send(request, self.timeout)
            except BaseException:
                upstream.transport.close()
                raise
            if not upstream.closed:
                self.idle.append(upstream)
            return answer

    def close(self) -> None:
        for upstream in self.idle:
            upstream.transport.close()
        self.idle.clear()


class FeedReader(asyncio.Protocol):
    """One phone's pushed feed read straight off its socket: the response's head, its
    chunked body and the Server-Sent Events in it, with as little Python a frame as it
    takes (2,000 phones get ~3,000 frames a second, and the generator shares the two
    cores with the servers: through aiohttp's stream the frames took most of its CPU).
    ``on_data`` gets each event's ``data:`` bytes and returns True to hang up."""

    def __init__(self, on_data):
        loop = asyncio.get_running_loop()
        self.on_data = on_data
        self.status: asyncio.Future = loop.create_future()  # the response's status
        self.closed: asyncio.Future = loop.create_future()
        self.transport = None
        self._buf = bytearray()
        self._body = bytearray()
        self._chunked = False
        self.heard = time.perf_counter()

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        if not self.status.done():
            self.status.set_exception(ConnectionResetError("the stream closed before its head"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data):
        self.heard = time.perf_counter()
        buf = self._buf
        buf += data
        if not self.status.done():
            head = response_head(buf)
            if head is None:
                return
            status, _length, self._chunked, _close = head
            self.status.set_result(status)
        body = buf
        if self._chunked:
            body = self._body
            if dechunk(buf, body):
                self.transport.close()
        while (end := body.find(b"\n\n")) >= 0:
            event = bytes(body[:end])
            del body[: end + 2]
            for line in event.split(b"\n"):
                if line.startswith(b"data: ") and self.on_data(line[6:]):
                    self.transport.close()
                    return


class Run:
    """One opening: buyers, bots and phones against one event."""

    def __init__(self, base, event_id, buyers, bots, unit_ids, args, push_base=None, mark=None):
        self.base = base
        self.push_base = push_base or base  # where the proxy sends the phones' streams
        self.event = event_id
        self.buyers = buyers  # [(number, code)] in the drawn order
        self.bot_entries = bots
        self.free = FreeUnits(unit_ids)
        self.free_ids = frozenset(unit_ids)
        self.units = len(unit_ids)
        self.args = args
        # called with "picking" as the batch opens and "picked" when the units are gone
        self.mark = mark or (lambda phase: None)
        self.picked_at: dict[int, float] = {}  # unit → when its 201 arrived
        self.pick_latency: list[float] = []
        self.request_latency: list[float] = []
        self.request_sent: list[float] = []  # when each was sent, from the batch's start
        self.refusals: Counter = Counter()
        self.bot_results: Counter = Counter()
        self.sold_out = asyncio.Event()
        self.sold_out_at = 0.0
        self.started = 0.0
        self.last_pick = 0.0
        self.errors: Counter = Counter()
        # phones
        self.lags = array("d")  # (phone, pick) pairs: worked out after the run
        self.seen_early = 0
        self.received: list[tuple[float, Seen, frozenset]] = []  # (when, phone, ids) an answer
        self.phones_seen: list[Seen] = []
        self._frames: dict[bytes, tuple[int, frozenset]] = {}
        self.polls = 0
        self.poll_latency: list[float] = []
        self.phone_misses = 0
        self.phones_done = 0
        self.phones_ready = 0
        self.streams = 0  # phones holding the pushed feed
        self.streams_refused = 0
        self.fell_back = 0  # phones polling after their stream was refused or ended
        self.frames = 0
        self.phones_cpu = (0.0, 0.0)  # the phones' process: while the buyers picked, in all

    @property
    def pick_path(self):
        return f"/api/v1/opening-events/{self.event}/buyer-picks/"

    @property
    def live_path(self):
        return f"/api/v1/opening-events/{self.event}/live/"

    @property
    def feed_path(self):
        """What the buyer's page polls (``opening_feed``): the units picked since."""
        return f"/opening/{self.event}/feed/"

    @property
    def stream_path(self):
        """What the buyer's page holds (``phone_stream``): the pushed feed."""
        return f"/opening/{self.event}/feed/stream/"

    async def post_pick(self, upstreams, number, code, unit, address):
        body = json.dumps({"entry": number, "code": code, "unit": unit}).encode()
        start = time.perf_counter()
        try:
            status, payload = await upstreams.post(
                self.pick_path,
                body,
                {"Content-Type": "application/json", "X-Forwarded-For": address},
            )
        except OSError as exc:
            self.errors[type(exc).__name__] += 1
            return "client_error", time.perf_counter() - start
        elapsed = time.perf_counter() - start
        self.request_latency.append(elapsed)
        self.request_sent.append(start - self.started)
        if status == 201:
            now = time.perf_counter()
            self.picked_at.setdefault(unit, now)
            self.pick_latency.append(elapsed)
            self.free.discard(unit)
            self.last_pick = now
            if len(self.picked_at) >= self.units:
                self._sold_out()
            return "ok", elapsed
        try:
            code_ = json.loads(payload).get("code", str(status))
        except ValueError:
            code_ = f"http_{status}"
        if code_ == "unit_taken":
            self.free.discard(unit)
            if not len(self.free):
                self._sold_out()
        return code_, elapsed

    def _sold_out(self):
        if not self.sold_out.is_set():
            self.sold_out_at = time.perf_counter()
            self.sold_out.set()

    async def buyer_client(self, upstreams, queue):
        interval = self.args.interval_ms / 1000 + 0.02
        while not queue.empty() and not self.sold_out.is_set():
            index, (number, code) = queue.get_nowait()
            address = buyer_address(index)
            for _attempt in range(self.args.tries):
                unit = self.free.choice()
                if unit is None or self.sold_out.is_set():
                    break
                sent = time.perf_counter()
                result, _elapsed = await self.post_pick(upstreams, number, code, unit, address)
                self.refusals[result] += 1
                if result not in ("unit_taken", "too_fast", "address_too_fast"):
                    break
                # a person taps again after a second: so does this client (unless the
                # units are gone meanwhile: the opening's CPU is measured up to then)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self.sold_out.wait(), max(0.0, sent + interval - time.perf_counter())
                    )

    async def bot(self, upstreams, i, number, code):
        """A script firing every 200 ms: even bots from one address, odd ones from a new
        address each time (a pool of proxies); either way one buyer."""
        fired = 0
        tasks = set()
        while not self.sold_out.is_set():
            unit = self.free.choice()
            if unit is None:
                break
            address = f"172.16.{i}.1" if i % 2 == 0 else f"172.17.{i}.{fired % 250 + 1}"
            fired += 1

            async def fire(unit=unit, address=address):
                result, _ = await self.post_pick(upstreams, number, code, unit, address)
                self.bot_results[result] += 1

            task = asyncio.create_task(fire())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            await asyncio.sleep(self.args.bot_ms / 1000)
        if tasks:
            await asyncio.gather(*tasks)

    async def phone(self, session, i, start_gate: asyncio.Event):
        """Load the whole board once, then poll the changes every ``poll`` seconds until
        the last unit is seen."""
        for _attempt in range(5):
            try:
                async with session.get(self.live_path) as response:
                    data = await response.json(content_type=None)
                break
            except (TimeoutError, aiohttp.ClientError, ValueError):
                self.phone_misses += 1
                await asyncio.sleep(1)
        else:
            raise RuntimeError("a phone could not load the board")
        since = data["last_pick"]
        seen = Seen(u["id"] for u in data["units"] if u["picked"])
        seen.run = sum(1 for u in seen if u in self.free_ids)
        self.phones_seen.append(seen)
        if self.args.phones_mode == "push":
            await self.phone_stream(session, since, seen, start_gate)
            return
        self.phones_ready += 1
        await start_gate.wait()
        await self.phone_poll(session, since, seen)

    def _saw(self, units: frozenset, run_units: int, seen, now) -> bool:
        """Take in the unit ids of one answer of the feed, as it came (the phone's
        ``seen``, when, the ids): ``settle_lags`` works out after the run which of them
        were new to the phone and their lags, with set operations the buyers do not wait
        for (2,000 phones get ~10,000 frames of a few hundred ids). Here only the count
        of the run's units the phone was sent moves on (``run_units``, counted once per
        distinct frame); True once that is every unit of the run. A feed sends a unit
        once; one sent twice would end the phone early and ``settle_lags`` would not
        count it as having seen every pick."""
        seen.run += run_units
        self.received.append((now, seen, units))
        return seen.run >= self.units

    def settle_lags(self) -> None:
        """Each (phone, pick) pair's lag from the buyer's 201 to the phone, from what
        the phones received (``_saw``), a unit counted the first time its phone got it;
        a pick seen before its 201 arrived counts 0. Then the phones that saw every unit
        of the run."""
        picked_at = self.picked_at
        for now, seen, units in self.received:
            new = units if seen.isdisjoint(units) else units - seen
            seen |= new
            for unit in new:
                committed = picked_at.get(unit)
                if committed is None or committed > now:
                    self.seen_early += 1
                    self.lags.append(0.0)
                else:
                    self.lags.append(now - committed)
        self.received.clear()
        self.phones_done = sum(1 for seen in self.phones_seen if self.free_ids <= seen)

    def _frame(self, payload: bytes):
        """One pushed frame's cursor and unit ids, decoded once for every phone that
        gets the same bytes (the hub sends one frame to all the phones of a tick)."""
        frame = self._frames.get(payload)
        if frame is None:
            data = json.loads(payload)
            units = frozenset(data["picked_units"])
            frame = (data["last_pick"], units, len(units & self.free_ids))
            self._frames[payload] = frame
        return frame

    async def phone_stream(self, session, since, seen, start_gate):
        """Hold the pushed feed (Server-Sent Events) from before the batch starts until
        the last unit is seen (``FeedReader``, a connection of its own as a browser's
        EventSource holds); poll instead when the server refuses the stream
        (``streams_full``) or it ends early."""
        cursor = [since]
        done = []

        def on_data(payload: bytes) -> bool:
            now = time.perf_counter()
            try:
                cursor[0], units, run_units = self._frame(payload)
            except (ValueError, KeyError, TypeError):
                self.phone_misses += 1
                return True
            self.frames += 1
            if self._saw(units, run_units, seen, now):
                done.append(True)
                return True
            return False

        target = urlsplit(self.push_base)
        request = (
            f"GET {self.stream_path}?since={since} HTTP/1.1\r\nHost: {target.netloc}\r\n"
            "Accept: text/event-stream\r\nX-Forwarded-Proto: https\r\n\r\n"
        ).encode()
        ready = False
        try:
            loop = asyncio.get_running_loop()
            transport, reader = await loop.create_connection(
                lambda: FeedReader(on_data), target.hostname, target.port
            )
            transport.write(request)
            status = await reader.status
            if status != 200:
                transport.close()
                self.streams_refused += 1
            else:
                self.streams += 1
                self.phones_ready += 1
                ready = True
                while not reader.closed.done():  # a stream silent for a minute is dead
                    await asyncio.wait([reader.closed], timeout=15)
                    if time.perf_counter() - reader.heard > 60:
                        transport.close()
        except OSError:
            pass
        if done:
            return
        if not ready:
            self.phones_ready += 1
        await start_gate.wait()
        self.fell_back += 1
        await self.phone_poll(session, cursor[0], seen)

    async def phone_poll(self, session, since, seen):
        """Poll the feed every ``poll`` seconds until the last unit is seen."""
        period = self.args.poll
        await asyncio.sleep(random.random() * period)
        next_at = time.perf_counter()
        while True:
            start = time.perf_counter()
            try:
                async with session.get(self.feed_path, params={"since": since}) as response:
                    data = await response.json(content_type=None)
            except (TimeoutError, aiohttp.ClientError, ValueError):
                self.phone_misses += 1
                data = None
            now = time.perf_counter()
            if data is not None and "last_pick" in data:
                self.polls += 1
                self.poll_latency.append(now - start)
                since = data["last_pick"]
                units = frozenset(data["picked_units"])
                if self._saw(units, len(units & self.free_ids), seen, now):
                    return
            elif data is not None:
                self.phone_misses += 1
            if self.sold_out.is_set() and time.perf_counter() > self.last_pick + 3 * period:
                return
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    def execute(self) -> dict:
        """The opening. The phones watch from a process of their own (``watch``, forked
        before either event loop starts), as they are other devices on the day: in one
        loop with the buyers, each time 2,000 phones got a frame the buyers' answers
        waited in the generator, up to 190 ms (its loop's lag, measured)."""
        if not self.args.phones:
            return run(self.run(None))
        context = multiprocessing.get_context("fork")
        mine, theirs = context.Pipe()
        watcher = context.Process(target=_watch, args=(self, theirs), daemon=True)
        watcher.start()
        theirs.close()
        try:
            return run(self.run(mine))
        finally:
            watcher.join(60)
            if watcher.is_alive():
                watcher.kill()

    async def run(self, phones) -> dict:
        """The buyers and the bots pick; ``phones`` is the pipe to the phones' process
        (``watch``), None without phones."""
        args = self.args
        heard = _messages(phones) if phones else None
        buyers = Upstreams(self.base, args.clients + len(self.bot_entries) * 4)
        phones_loaded = 0.0
        if phones:  # the phones open the board before the batch starts
            _ready, phones_loaded = await heard.get()
        queue: asyncio.Queue = asyncio.Queue()
        for i, buyer in enumerate(self.buyers):
            queue.put_nowait((i, buyer))
        # the generator's garbage collector rests while the buyers pick
        gc.collect()
        gc.freeze()
        gc.disable()
        self.mark("picking")
        self.started = time.perf_counter()
        if phones:
            phones.send(("go", self.started))
        tasks = [asyncio.create_task(self.buyer_client(buyers, queue)) for _ in range(args.clients)]
        tasks += [
            asyncio.create_task(self.bot(buyers, i, number, code))
            for i, (number, code) in enumerate(self.bot_entries)
        ]
        await asyncio.gather(*tasks)
        self.mark("picked")
        gc.enable()
        gc.unfreeze()
        # sold out when the last free unit was answered (a 201, or unit_taken for a
        # pick whose own answer timed out)
        picking = (self.sold_out_at or self.last_pick or time.perf_counter()) - self.started
        watching = time.perf_counter() - self.started
        if phones:
            phones.send(("picked", self.last_pick, self.picked_at))
            _done, seen = await heard.get()
            watching = seen["finished_at"] - self.started
            self.take(seen)
        buyers.close()
        return {
            "phones_loaded_s": phones_loaded,
            "picking_s": picking,
            "watching_s": watching,
            "answered": len(self.picked_at),
        }

    async def watch(self, buyers) -> dict:
        """The phones' process: each phone loads the board, then holds the pushed feed
        (or polls) until it has seen every unit of the run; ``buyers`` is the pipe to
        the buyers' process (``run``), whose batch opens once every phone is ready and
        whose 201s the lags are measured from. Returns what ``take`` takes in."""
        args = self.args
        heard = _messages(buyers)
        connector = aiohttp.TCPConnector(limit=args.phone_connections)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(
            self.base, connector=connector, headers=HTTPS, timeout=timeout
        ) as session:
            gate = asyncio.Event()
            load_start = time.perf_counter()
            tasks = [asyncio.create_task(self.phone(session, i, gate)) for i in range(args.phones)]
            while self.phones_ready < args.phones:
                await asyncio.sleep(0.1)
                for task in tasks:
                    if task.done() and task.exception():
                        raise task.exception()
            # the collector done with the phones' boards before the batch opens, and
            # resting while it runs: collected at the batch's start, it took the CPU the
            # buyers' first picks waited for (the phones' CPU while the buyers picked
            # went from 0.16–0.39 s to 0.07–0.11 s)
            gc.collect()
            gc.freeze()
            gc.disable()
            buyers.send(("ready", time.perf_counter() - load_start))
            _go, self.started = await heard.get()
            cpu = time.process_time()
            gate.set()

            async def picked():
                nonlocal cpu
                _picked, self.last_pick, self.picked_at = await heard.get()
                cpu = time.process_time() - cpu
                self.sold_out.set()  # the polling phones stop three polls after it

            hear = asyncio.create_task(picked())
            await asyncio.gather(*tasks)
            finished_at = time.perf_counter()
            await hear
            gc.enable()
            gc.unfreeze()
        self.settle_lags()
        return {
            "finished_at": finished_at,
            "lags": self.lags.tobytes(),
            "cpu_picking": cpu,
            "cpu": time.process_time(),
            **{
                name: getattr(self, name)
                for name in (
                    "seen_early",
                    "frames",
                    "streams",
                    "streams_refused",
                    "fell_back",
                    "polls",
                    "poll_latency",
                    "phone_misses",
                    "phones_done",
                )
            },
        }

    def take(self, seen: dict) -> None:
        """What the phones' process saw (``watch``), into this run's figures."""
        self.lags.frombytes(seen.pop("lags"))
        self.phones_cpu = (seen.pop("cpu_picking"), seen.pop("cpu"))
        seen.pop("finished_at")
        for name, value in seen.items():
            setattr(self, name, value)


def _messages(pipe) -> asyncio.Queue:
    """What comes through ``pipe``, as a queue of the running loop (read by a thread of
    its own: the phones' answer is megabytes, more than a pipe holds at once)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def read():
        with contextlib.suppress(EOFError, OSError, RuntimeError):  # closed, or the loop
            while True:
                loop.call_soon_threadsafe(queue.put_nowait, pipe.recv())

    threading.Thread(target=read, daemon=True).start()
    return queue


def _watch(opening: Run, pipe) -> None:
    """The phones' process (forked by ``Run.execute``): ``Run.watch``, its answer sent."""
    pipe.send(("done", run(opening.watch(pipe))))
