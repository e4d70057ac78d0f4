#!/usr/bin/python3
"""A BASE device written from docs/PROTOCOL.md alone, in another language and
on another MQTT client (paho-mqtt for Python), so that ImageBeam's sender is
tested against an implementation that does not share its code.

Usage: reference_device.py HOST PORT TO_DEVICE FROM_DEVICE
Prints "ready" once subscribed, then one JSON line per FINISH:
{"name": ..., "size": ..., "sha256": ..., "complete": ...}
"""
import hashlib
import json
import struct
import sys

import paho.mqtt.client as mqtt

FRAME = struct.Struct("<Lbhh")    # magic, function, package number, length
FEEDBACK = struct.Struct("<Lbhb")  # magic, function, package number, status
FRAME_MAGIC = 0xFFFFEEEE
FEEDBACK_MAGIC = 0xEEEEFFFF
BEGIN, DATA, FINISH = 1, 2, 3

host, port, to_device, from_device = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

state = {"begin": None, "name": None, "size": 0, "chunks": {}, "chunk": None, "finish": None}


def answer(client, function, number, status):
    client.publish(from_device, FEEDBACK.pack(FEEDBACK_MAGIC, function, number, status), qos=0)


def on_message(client, userdata, msg):
    p = msg.payload
    if len(p) < FRAME.size:
        return
    magic, function, number, length = FRAME.unpack_from(p)
    if magic != FRAME_MAGIC or function not in (BEGIN, DATA, FINISH):
        return
    data = p[FRAME.size:]
    if length != len(data):
        answer(client, function, number, 0)
        return
    if function == BEGIN:
        if data == state["begin"] and not state["chunks"]:
            answer(client, BEGIN, number, 1)  # a resend of the open BEGIN
            return
        name, _, size = data.decode("utf-8").rpartition(";")
        state.update(begin=data, name=name, size=int(size), chunks={}, chunk=None, finish=None)
        answer(client, BEGIN, number, 1)
    elif function == DATA:
        if state["begin"] is None:
            answer(client, DATA, number, 0)
            return
        if number == 0:
            state["chunk"] = len(data)
        state["chunks"].setdefault(number, data)
        answer(client, DATA, number, 1)
    else:
        if state["finish"] is None:
            image = b"".join(state["chunks"][i] for i in sorted(state["chunks"]))
            ok = len(image) == state["size"] and sorted(state["chunks"]) == list(range(len(state["chunks"])))
            state["finish"] = 1 if ok else 0
            print(json.dumps({"name": state["name"], "size": len(image),
                              "sha256": hashlib.sha256(image).hexdigest(), "complete": ok}), flush=True)
        answer(client, FINISH, number, state["finish"])


def on_connect(client, userdata, flags, rc):
    client.subscribe(to_device, qos=0)


def on_subscribe(client, userdata, mid, granted_qos):
    print("ready", flush=True)


client = mqtt.Client(client_id="reference-device", clean_session=True)
client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
client.connect(host, port, keepalive=30)
client.loop_forever()
