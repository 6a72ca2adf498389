"""Health checking: pure rise/fall state machine and quorum, async probes, scheduler and vote writer.

Pure modules (no I/O): fsm, quorum, valve, targets. Async edges: probes, scheduler, votes, checker.
"""
