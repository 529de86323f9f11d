"""Analytics for recruiters: norm groups, score distributions, reliability, item analysis and fairness.

Imports `scoring` (DECISIONS.md: only assessments/scoring_adapter.py and analytics/ do) and reads the
assessments package's models; nothing below it imports analytics.
"""
