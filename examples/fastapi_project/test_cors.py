"""The CORS policy this service must ship, checked in-process on every test run."""

from main import app

POLICY = {
    "origins": ["https://app.example.com"],
    "methods": ["GET", "POST", "PUT"],
    "headers": ["Content-Type", "Authorization"],
    "credentials": True,
}


def test_cors_matches_the_policy(corscheck) -> None:  # type: ignore[no-untyped-def]
    corscheck.assert_cors(app, POLICY, paths=["/api/items"])
