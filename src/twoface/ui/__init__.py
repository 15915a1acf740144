"""``twoface ui``: the whole workflow in a browser, served from one workspace folder.

An orchestrator like the CLI: it runs the stage functions (as jobs in processes of their own)
and reads what they write; no stage imports it. Needs the optional ``ui`` dependencies
(``pip install twoface[ui]``): FastAPI, uvicorn, Jinja2, python-multipart. See app.py.
"""
