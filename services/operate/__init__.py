"""What an operator runs: the wenming command, the supervisor of `wenming up`, embedded servers,
the pipeline verdict and health checks."""
