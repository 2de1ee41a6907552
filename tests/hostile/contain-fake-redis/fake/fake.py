"""A fake Redis: PONG to PING, "string" to TYPE, a name to GET, OK to anything else."""
import socketserver


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if not line.startswith(b"*"):
                continue
            parts = [self.rfile.readline() and self.rfile.readline().strip() for _ in range(int(line[1:]))]
            command = parts[0].upper() if parts else b""
            if command == b"PING":
                self.wfile.write(b"+PONG\r\n")
            elif command == b"TYPE":
                self.wfile.write(b"+string\r\n")
            elif command == b"GET":
                self.wfile.write(b"$9\r\nFake Name\r\n")
            else:
                self.wfile.write(b"+OK\r\n")


socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("0.0.0.0", 6379), Handler).serve_forever()
