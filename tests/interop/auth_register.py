"""Registers an account anonymously with kafka-python's admin client
(AlterUserScramCredentials), twice; prints "first: <error or None>" and "second: ...".

usage: auth_register.py BOOTSTRAP NAME PASSWORD
"""
import sys

from kafka.admin import KafkaAdminClient
from kafka.admin._users import ScramMechanism, UserScramCredentialUpsertion

bootstrap, name, password = sys.argv[1:4]
admin = KafkaAdminClient(bootstrap_servers=bootstrap)
for label in ("first", "second"):
    up = UserScramCredentialUpsertion(name, ScramMechanism.SCRAM_SHA_256, password)
    result = admin.alter_user_scram_credentials([up])
    print(f"{label}: {result.get(name)}")
admin.close()
