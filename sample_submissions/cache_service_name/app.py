import redis
from flask import Flask

app = Flask(__name__)
# the redis service is called "cache" in my compose file
cache = redis.Redis(host="cache", port=6379, decode_responses=True)


@app.route("/")
def index():
    count = cache.incr("hits")
    return f"This page has been visited {count} times."


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
