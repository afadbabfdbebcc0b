# UDP echo on 127.0.0.1 that answers each datagram with the IP TTL it arrived with ("ttl=<n>"), read from
# the IP_TTL control message (IP_RECVTTL): no raw socket or capture privileges needed. Prints its port,
# then serves until stdin closes or 60 s pass.
import select
import socket
import sys
import time

IP_RECVTTL = getattr(socket, 'IP_RECVTTL', 12)
IP_TTL = getattr(socket, 'IP_TTL', 2)

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
s.bind(('127.0.0.1', 0))
print(s.getsockname()[1], flush=True)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    ready, _, _ = select.select([s, sys.stdin], [], [], 1.0)
    if sys.stdin in ready and not sys.stdin.readline():
        break
    if s in ready:
        data, anc, _flags, addr = s.recvmsg(2048, socket.CMSG_SPACE(4))
        ttl = -1
        for level, kind, value in anc:
            if level == socket.IPPROTO_IP and kind == IP_TTL:
                ttl = int.from_bytes(value[:4], sys.byteorder)
        s.sendto(b'ttl=%d' % ttl, addr)
