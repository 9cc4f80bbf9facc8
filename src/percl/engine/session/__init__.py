"""One live leg: the CallSession (session.py) and what it is made of, one concept a module.

Import the modules themselves (`from percl.engine.session.session import CallSession`): this
package re-exports nothing, because runners.py (the services' view of a leg) imports the session's
events, and a re-export here would pull the whole session, hence runners itself, back in.
"""
