#!/usr/bin/env python3
"""mkdata.py — write the benchmark's maildrops and users file into a folder (default build/bench/data).

  session/   5 messages, 2 KB to 1 MB, stored with LF line ends as an MTA delivers them, plain Maildir
             names without ,S= or ,W= (the case where a server has to learn sizes itself)
  big/       one 50 MB message (MB = 10^6 octets; --big-mb), LF-stored, a few lines starting with '.'
  bigcrlf/   the same size stored as sent: CRLF line ends, no line starting with '.' (sendable verbatim)
  huge/      100,000 messages of about 1 KB (--huge-count)
  idle/      3 small messages, hard-linked into every idle account
  users      pop3refd users file: user01..user67 (pass01..), idle00001.. (--idle-count)
  maildirs/  pop3refd's --maildirs: user01..user64 hold session/, user65 big/, user66 huge/, user67 bigcrlf/,
             idleNNNNN idle/ (hard links: one copy on disk)

Deterministic. Each part is rebuilt only when its stamp (the parameters) changed; maildirs/ is rebuilt
every run (bench/run.sh calls `--maildirs-only` to reset what a server renamed or indexed)."""
import argparse
import os
import shutil
import sys

BODY_LINE = "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.\n"


def message(n, size, tag, crlf=False):
    head = (f"Return-Path: <sender@example.test>\n"
            f"From: Sender <sender@example.test>\n"
            f"To: User <user@example.test>\n"
            f"Subject: benchmark message {tag}-{n}\n"
            f"Message-ID: <{tag}-{n}@bench.pop3spec.test>\n"
            f"Date: Mon, 07 Dec 2026 10:00:00 +0000\n"
            f"MIME-Version: 1.0\n"
            f"Content-Type: text/plain; charset=us-ascii\n\n")
    parts = [head]
    have = len(head)
    i = 0
    while have < size:
        # Every 50th line starts with a dot, so stuffing is exercised (RFC 1939 §3).
        line = ("." if i % 50 == 7 and not crlf else "") + f"{i:08d} " + BODY_LINE
        parts.append(line)
        have += len(line)
        i += 1
    text = "".join(parts)
    if crlf:
        text = text.replace("\n", "\r\n")
    return text.encode()


def write_maildir(path, sizes, tag, crlf=False, name_fmt="17000{0:05d}.M{0}P1.bench"):
    tmp = path + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(tmp, sub))
    for n, size in enumerate(sizes, 1):
        with open(os.path.join(tmp, "cur", name_fmt.format(n) + ":2,S"), "wb") as f:
            f.write(message(n, size, tag, crlf))
    shutil.rmtree(path, ignore_errors=True)
    os.rename(tmp, path)


def stamped(path, stamp):
    try:
        with open(os.path.join(path, ".stamp")) as f:
            return f.read() == stamp
    except OSError:
        return False


def set_stamp(path, stamp):
    with open(os.path.join(path, ".stamp"), "w") as f:
        f.write(stamp)


def part(out, name, sizes, tag, crlf=False):
    path = os.path.join(out, name)
    stamp = f"v1 {len(sizes)} {sum(sizes)} {crlf}"
    if not stamped(path, stamp):
        print(f"mkdata: writing {path} ({len(sizes)} messages)", file=sys.stderr)
        write_maildir(path, sizes, tag, crlf)
        set_stamp(path, stamp)
    return path


def link_maildir(src, dst):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(dst, sub), exist_ok=True)
    for sub in ("cur", "new"):
        for name in os.listdir(os.path.join(src, sub)):
            os.link(os.path.join(src, sub, name), os.path.join(dst, sub, name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="build/bench/data")
    ap.add_argument("--big-mb", type=int, default=50)
    ap.add_argument("--huge-count", type=int, default=100000)
    ap.add_argument("--idle-count", type=int, default=10000)
    ap.add_argument("--maildirs-only", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    session = part(a.out, "session", [2000, 5000, 20000, 60000, 1000000], "session")
    big = part(a.out, "big", [a.big_mb * 1000 * 1000], "big")
    bigcrlf = part(a.out, "bigcrlf", [a.big_mb * 1000 * 1000], "bigcrlf", crlf=True)
    huge = part(a.out, "huge", [1000 + (i % 7) * 100 for i in range(a.huge_count)], "huge")
    idle = part(a.out, "idle", [700, 1800, 5600], "idle")

    with open(os.path.join(a.out, "users.tmp"), "w") as f:
        for i in range(1, 68):
            f.write(f"user{i:02d}:pass{i:02d}\n")
        for i in range(1, a.idle_count + 1):
            f.write(f"idle{i:05d}:pass{i:05d}\n")
    os.rename(os.path.join(a.out, "users.tmp"), os.path.join(a.out, "users"))

    md = os.path.join(a.out, "maildirs")
    shutil.rmtree(md, ignore_errors=True)
    os.makedirs(md)
    for i in range(1, 65):
        link_maildir(session, os.path.join(md, f"user{i:02d}"))
    link_maildir(big, os.path.join(md, "user65"))
    link_maildir(huge, os.path.join(md, "user66"))
    link_maildir(bigcrlf, os.path.join(md, "user67"))
    for i in range(1, a.idle_count + 1):
        link_maildir(idle, os.path.join(md, f"idle{i:05d}"))


if __name__ == "__main__":
    main()
