"""Several percl workers on one database (issue 19): who owns what (leases), how workers talk
(the bus), and a worker's own life (identity, heartbeat, forwarding requests to an owner).

One worker (the default, SQLite) uses none of it: the services get no Cluster and do no lease or
bus work at all.
"""
