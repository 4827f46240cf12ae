import pytest


@pytest.mark.django_db
def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == {"ok": True}


@pytest.mark.django_db
def test_metrics_count_requests_by_route_and_status(client):
    client.get("/healthz")
    client.get("/api/orders/ALB-1/")
    text = client.get("/metrics").content.decode()
    assert 'http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'route="/api/orders/<str:albaik_identifier>/",status="401"' in text
    assert "http_request_duration_seconds_bucket" in text


@pytest.mark.django_db
def test_unknown_url_is_a_json_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
