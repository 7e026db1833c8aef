"""Running the user's own code under limits: how long it may take and how much memory
JavaScript may use (``limits``), and Python in a worker process that can be stopped
(``pyworker`` in this process, ``pyserver`` in the child). See docs/security.md."""
