"""A small FastAPI service whose CORS configuration is tested with corscheck's pytest helper."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://app.example.com"],
    allow_credentials=True,
    allow_methods=["GET", "POST", "PUT"],
    allow_headers=["Content-Type", "Authorization"],
)


@app.get("/api/items")
def items() -> dict[str, list[str]]:
    return {"items": []}
