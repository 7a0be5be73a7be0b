"""``jupyter mllab ...``: the lab without a browser, for terminals and CI pipelines.

It talks to a running lab over its REST API (found as ``jupyter server list`` finds
servers, or given with ``--url`` and ``--token``), or, where no lab runs on the home,
works on the home directly through the services the server uses. Imports stay light
until a command runs, so that ``--help`` is quick.
"""
