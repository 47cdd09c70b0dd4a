def test_health_reports_active_profile(client):
    response = client.http.get("/health")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok", "profile": "kaleipix", "policy_version": "2026-11-01"}


def test_unknown_route_is_a_client_error(client):
    response = client.http.get("/no-such-route")
    assert 400 <= response.status_code < 500


def test_head_health_is_a_200_without_a_body(client):
    """Uptime checkers probe with HEAD: the same answer as GET, without the body."""
    response = client.http.request("HEAD", "/health")
    assert response.status_code == 200
    assert response.body == b""
