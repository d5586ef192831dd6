"""The pairing engines. numba is imported by the kernel modules only (assignment,
candidates, stable): the pool, rules and explanations load without it, so a service is
ready before numba (1.3 s of imports) has loaded; its warm-up loads it in the background.
"""
