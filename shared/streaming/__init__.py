"""Redis streams as the stages use them, one module per concern.

groups: consumer groups (creating, joining, leaving, trimming what they consumed);
liveness: heartbeats and keeping work in hand claimed;
dead_letters: what a stage cannot use, and why;
publishing: the broker and handing messages on.
"""
