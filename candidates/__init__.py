"""Candidates and their profiles: skills, education, experience and languages (skills-and-fit.md §4.3).

services.py holds the rules (shared by the recruiter's pages, the imports and the candidate's own step),
queries.py the read models, jsonresume.py and csv_import.py the imports, views.py the recruiter's pages.
"""
