"""Row triggers written once for both databases: the figures and guards the database
keeps itself, in the writing statement's transaction (an app's ``traffic`` or
``numbers``). A trigger is ``(name, table, event, when, statements)``: after ``event``
(INSERT, UPDATE or DELETE) on each row of ``table``, when ``when`` holds (SQLite's
syntax with ``OLD``/``NEW`` and ``IS NOT``; PostgreSQL gets ``IS DISTINCT FROM``), run
``statements``."""


def pg_condition(condition: str) -> str:
    """A SQLite trigger condition in PostgreSQL's words."""
    return condition.replace(" IS NOT ", " IS DISTINCT FROM ")


def install_sql(vendor: str, triggers) -> list[str]:
    """The statements that (re)create ``triggers`` on ``vendor`` (postgresql or sqlite)."""
    out = []
    for name, table, event, when, statements in triggers:
        if vendor == "postgresql":
            body = "\n".join(f"    {s};" for s in statements)
            out.append(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$\n"
                f"BEGIN\n{body}\n    RETURN NULL;\nEND;\n$$ LANGUAGE plpgsql"
            )
            cond = f" WHEN ({pg_condition(when)})" if when else ""
            out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            out.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{cond} "
                f"EXECUTE FUNCTION {name}()"
            )
        else:
            body = " ".join(f"{s};" for s in statements)
            cond = f" WHEN {when}" if when else ""
            out.append(f"DROP TRIGGER IF EXISTS {name}")
            out.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{cond} "
                f"BEGIN {body} END"
            )
    return out


def uninstall_sql(vendor: str, triggers) -> list[str]:
    out = []
    for name, table, *_rest in triggers:
        if vendor == "postgresql":
            out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            out.append(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            out.append(f"DROP TRIGGER IF EXISTS {name}")
    return out
