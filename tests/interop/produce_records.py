"""Produces records described in a file with kafka-python (a stand-in for BBS clients
whose records the server has already stamped; used to test the data-model readers).

Usage: produce_records.py BOOTSTRAP FILE
Each line of FILE: topic TAB key-hex-or-'-' TAB value-hex-or-'-' TAB name=hex,name=hex...
"""
import sys

from kafka import KafkaProducer


def unhex(s):
    return None if s == "-" else bytes.fromhex(s)


def main():
    server, path = sys.argv[1], sys.argv[2]
    producer = KafkaProducer(bootstrap_servers=server, acks=1)
    count = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            topic, key, value, headers = line.rstrip("\n").split("\t")
            hs = []
            for item in filter(None, headers.split(",")):
                name, val = item.split("=")
                hs.append((name, unhex(val)))
            producer.send(topic, key=unhex(key), value=unhex(value), headers=hs).get(timeout=30)
            count += 1
    producer.flush()
    producer.close()
    print(count)


if __name__ == "__main__":
    main()
