"""The classroom: JupyterHub for a room of learners (issue 13). See classroom/start.py."""
