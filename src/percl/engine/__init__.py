"""The engine: lifecycle tables, the call sessions that drive the PerCL interpreter, and the ports."""
