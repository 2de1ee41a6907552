from flask import Flask
import redis

app = Flask(__name__)
r = redis.Redis(host='redis', port=6379, decode_responses=True)

# TODO use redis for this, the global works for now
visits = 0


@app.route('/')
def index():
    global visits
    visits += 1
    return f"This page has been visited {visits} times."


if __name__ == '__main__':
    app.run(host='0.0.0.0', port=5000)
