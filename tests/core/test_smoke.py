def test_home_as_consultant(login):
    client = login("consultant")
    response = client.get("/")
    assert response.status_code == 200
    assert "锦城·翠湖湾" in response.content.decode()
