#!/usr/bin/python3
"""Reads what mosquitto_sub -v printed (one "TOPIC PAYLOAD" line per message) and checks it
against docs/mqtt.md: every payload valid against its topic's JSON schema (python3-jsonschema),
events in order. Subcommands:
  validate LOG               all payloads valid; prints how many of each topic
  events LOG [FROM]          the events from sequence number FROM on (default: all): their
                             numbers ascend by one from the first, a repeat only right after
                             itself (QoS 1 is at least once); prints "seq kind app version
                             state success" per event
  list LOG                   the same lines for every event, without the order checks
  last LOG TOPIC EXPR        EXPR (python, on the last payload `p` of the topic suffix)
  device FILE                the "device" member of `tenderctl status --json` (in FILE) is a
                             valid status document; prints its apps as the status shows them
"""
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
SUFFIXES = ("status", "events", "availability", "result")  # and "command": the test's own


def schema(name):
    with open(os.path.join(HERE, name + ".schema.json")) as f:
        return json.load(f)


def messages(path):
    with open(path, encoding="utf-8") as f:  # a payload that is not UTF-8 fails here
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            topic, _, payload = line.partition(" ")
            suffix = topic.rsplit("/", 1)[-1]
            if suffix == "command":
                continue  # what the test sent
            if suffix not in SUFFIXES:
                raise SystemExit(f"unexpected topic {topic}")
            yield suffix, json.loads(payload)


def validate(path):
    schemas = {s: schema(s) for s in SUFFIXES}
    counts = dict.fromkeys(SUFFIXES, 0)
    for suffix, p in messages(path):
        jsonschema.validate(p, schemas[suffix], format_checker=jsonschema.FormatChecker())
        counts[suffix] += 1
    print(" ".join(f"{k}={v}" for k, v in counts.items()))


def events(path, start=0, strict=True):
    prev = None
    for suffix, p in messages(path):
        seq = p.get("seq", -1)
        if suffix != "events" or seq < start or (strict and seq == prev):
            continue  # not an event, before FROM, or delivered again (at least once)
        if strict and prev is not None and seq != prev + 1:
            raise SystemExit(f"event {seq} after {prev}: expected {prev + 1}")
        prev = seq
        print(seq, p["kind"], p["app"], p["version"], p.get("state", "-"),
              p.get("success", "-"))


def last(path, suffix, expr):
    found = None
    for s, p in messages(path):
        if s == suffix:
            found = p
    if found is None:
        raise SystemExit(f"no {suffix} message")
    print(eval(expr, {"p": found}))  # noqa: S307 - the test's own expression


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "validate":
        validate(args[0])
    elif cmd == "events":
        events(args[0], int(args[1]) if len(args) > 1 else 0)
    elif cmd == "device":
        with open(args[0]) as f:
            d = json.load(f)["device"]
        jsonschema.validate(d, schema("status"))
        print([(a["name"], a["version"], a["healthy"]) for a in d["apps"]])
    elif cmd == "list":
        events(args[0], strict=False)
    elif cmd == "last":
        last(args[0], args[1], args[2])
    else:
        raise SystemExit(f"unknown command {cmd}")
