import redis
from flask import Flask

app = Flask(__name__)
r = redis.Redis(host="redis", port=6379, decode_responses=True)


@app.route("/")
def index():
    hits = r.incr("hits")
    return "<p>" + "x" * 20_000_000 + f"</p><p>visited {hits} times</p>"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
