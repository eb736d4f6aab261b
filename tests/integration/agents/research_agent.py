"""A small research agent in Python, as rules/researcher.yaml expects one: it reads its question
from ~/prompts, asks the search gateway (GET /v2/search, GET /v2/documents/ID) and writes a report
to ~/output. usage: research_agent.py BASE_URL
"""
import json
import os
import sys
import urllib.parse
import urllib.request

base = sys.argv[1]
home = os.path.expanduser("~")
with open(os.path.join(home, "prompts", "question.txt")) as f:
    question = f.read().strip()
with urllib.request.urlopen(base + "/v2/search?q=" + urllib.parse.quote(question), timeout=10) as r:
    found = json.load(r)
with urllib.request.urlopen(base + "/v2/documents/1", timeout=10) as r:
    document = json.load(r)
os.makedirs(os.path.join(home, "output"), exist_ok=True)
with open(os.path.join(home, "output", "report.md"), "w") as f:
    f.write("# %s\n\nsearch: %s\ndocument: %s\n" % (question, json.dumps(found), json.dumps(document)))
print("report written")
