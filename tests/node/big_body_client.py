#!/usr/bin/python3
"""A client that sends a body far over the node's limit, as Python's http.client does, and
reports what it got: one JSON line per try, {"try", "framing", "status", "content_type",
"body"} or {"try", "framing", "error"} when the request raised (BrokenPipeError: the edge
closed before the client had sent its body, so it never read the answer).

usage: big_body_client.py PORT TRIES BYTES

Each try opens a new connection and posts BYTES to /orders three ways: the body as one
bytes object (http.client sends it with one sendall), as a file (sent in 8 KiB blocks, the
way an upload streams: the edge's answer arrives while it still sends), and chunked.
"""
import http.client
import io
import json
import sys


def post(port, framing, size):
    body = b" " * size
    headers = {"Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if framing == "bytes":
            conn.request("POST", "/orders", body=body, headers=headers)
        elif framing == "file":
            headers["Content-Length"] = str(size)
            conn.request("POST", "/orders", body=io.BytesIO(body), headers=headers)
        else:
            blocks = (body[i:i + 65536] for i in range(0, size, 65536))
            conn.request("POST", "/orders", body=blocks, headers=headers, encode_chunked=True)
        answer = conn.getresponse()
        return {"status": answer.status, "content_type": answer.getheader("Content-Type"),
                "body": answer.read().decode("utf-8", "replace")}
    except Exception as e:  # what a client sees is the result, whatever it is
        return {"error": type(e).__name__ + ": " + str(e)}
    finally:
        conn.close()


def main():
    port, tries, size = (int(a) for a in sys.argv[1:4])
    for n in range(tries):
        for framing in ("bytes", "file", "chunked"):
            line = {"try": n, "framing": framing}
            line.update(post(port, framing, size))
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
