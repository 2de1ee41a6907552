"""Speaks just enough RESP to look like Redis: every command gets a bulk string of a gigabyte."""
import socket
import threading

CHUNK = b"x" * 65536


def serve(conn: socket.socket) -> None:
    with conn:
        try:
            while conn.recv(65536):
                conn.sendall(b"$1000000000\r\n")
                for _ in range(1_000_000_000 // len(CHUNK) + 1):
                    conn.sendall(CHUNK)
                conn.sendall(b"\r\n")
        except OSError:
            pass  # the client hung up


with socket.create_server(("0.0.0.0", 6379)) as listener:
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=serve, args=(connection,), daemon=True).start()
