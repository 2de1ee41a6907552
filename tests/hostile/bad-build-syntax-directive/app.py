from flask import Flask
import redis

app = Flask(__name__)
# "redis" is the service name in docker-compose.yml
r = redis.Redis(host='redis', port=6379, decode_responses=True)


@app.route('/')
def index():
    hits = r.incr('hits')
    return f"This page has been visited {hits} times."


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
