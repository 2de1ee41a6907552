import os

from flask import Flask
import redis

app = Flask(__name__)

# default to localhost so I can also run it outside docker
r = redis.Redis(
    host=os.environ.get("REDIS_HOST", "localhost"),
    port=int(os.environ.get("REDIS_PORT", 6379)),
    decode_responses=True,
)


@app.route("/")
def index():
    visits = r.incr("visits")
    return f"This page has been visited {visits} times."


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
