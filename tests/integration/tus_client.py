"""A small tus 1.0 client for the tests (creation, HEAD, PATCH, DELETE), and
images made with Pillow: what a phone's camera writes (EXIF orientation and
GPS) and what an attacker writes (a PNG that claims 50,000 x 50,000 pixels)."""

import base64
import http.client
import io
import os
import socket
import struct
import zlib

HOST = "127.0.0.1"


def metadata(**fields):
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


def request(port, method, path, token=None, headers=None, body=None, timeout=30):
    """(status, headers dict with lower-case names, body bytes)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        hdrs = {"Tus-Resumable": "1.0.0"}
        if token:
            hdrs["Authorization"] = "Bearer " + token
        hdrs.update(headers or {})
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def create(port, token, length, filetype, filename="file.bin", **extra):
    headers = {"Upload-Length": str(length), "Upload-Metadata": metadata(filetype=filetype, filename=filename)}
    headers.update(extra)
    status, hdrs, body = request(port, "POST", "/v1/uploads", token, headers)
    return status, hdrs, body


def offset(port, token, location):
    status, hdrs, _ = request(port, "HEAD", location, token)
    return status, int(hdrs["upload-offset"]) if "upload-offset" in hdrs else None


def patch(port, token, location, at, data, content_type="application/offset+octet-stream"):
    return request(port, "PATCH", location, token,
                   {"Upload-Offset": str(at), "Content-Type": content_type}, body=data, timeout=60)


def upload(port, token, data, filetype, filename="file.bin"):
    """Creates and sends `data` in one PATCH; (location, final status, body)."""
    status, hdrs, body = create(port, token, len(data), filetype, filename)
    assert status == 201, (status, body)
    location = hdrs["location"]
    status, hdrs, body = patch(port, token, location, 0, data)
    return location, status, body


def _drain_and_close(s):
    """Sends nothing more, reads whatever the server answers, closes."""
    s.shutdown(socket.SHUT_WR)
    s.settimeout(10)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()


def cut_patch(port, token, location, at, data, send):
    """A PATCH that declares all of `data` but sends only `send` bytes, then
    drops the connection: a phone losing its network mid-upload."""
    s = socket.create_connection((HOST, port))
    head = (f"PATCH {location} HTTP/1.1\r\nHost: {HOST}\r\nTus-Resumable: 1.0.0\r\n"
            f"Authorization: Bearer {token}\r\nUpload-Offset: {at}\r\n"
            f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n")
    s.sendall(head.encode() + data[:send])
    _drain_and_close(s)


def cut_chunked_patch(port, token, location, at, data):
    """A chunked PATCH whose bytes all arrive in one chunk, and whose last
    (empty) chunk never does: the connection drops first."""
    s = socket.create_connection((HOST, port))
    head = (f"PATCH {location} HTTP/1.1\r\nHost: {HOST}\r\nTus-Resumable: 1.0.0\r\n"
            f"Authorization: Bearer {token}\r\nUpload-Offset: {at}\r\n"
            f"Content-Type: application/offset+octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
    s.sendall(head.encode() + f"{len(data):x}\r\n".encode() + data + b"\r\n")
    _drain_and_close(s)


def jpeg_with_location(width=300, height=200):
    """A JPEG as a phone writes it: EXIF orientation 6 (turn to view) and GPS."""
    from PIL import Image
    img = Image.new("RGB", (width, height))
    for x in range(width):
        for y in range(0, height, 4):
            img.putpixel((x, y), (x % 256, (2 * y) % 256, 120))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation
    exif[0x010F] = "ExampleCam"
    gps = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def exif_of(data):
    from PIL import Image
    img = Image.open(io.BytesIO(data))
    return img.size, img.getexif(), img.format


def png_bomb(side=50000):
    """A PNG that claims side x side RGB pixels; its data is a little of them."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 << 20), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def mp4(duration_ms=4000, width=640, height=360, payload=4096):
    """A small MP4 as a phone's camera writes one: ftyp, a movie header with
    its duration, one video track with its size, then the (random) frames."""
    def box(kind, payload):
        return struct.pack(">I", 8 + len(payload)) + kind + payload
    mvhd = bytes(4) + struct.pack(">III", 0, 0, 1000) + struct.pack(">I", duration_ms) + bytes(80)
    tkhd = bytes(4) + bytes(72) + struct.pack(">II", width << 16, height << 16)
    moov = box(b"moov", box(b"mvhd", mvhd) + box(b"trak", box(b"tkhd", tkhd)))
    return box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41") + moov + box(b"mdat", os.urandom(payload))
