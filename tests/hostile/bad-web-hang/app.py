import time

import redis
from flask import Flask

app = Flask(__name__)
r = redis.Redis(host="redis", port=6379, decode_responses=True)


@app.route("/")
def index():
    time.sleep(600)
    hits = r.incr("hits")
    return f"This page has been visited {hits} times."


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
