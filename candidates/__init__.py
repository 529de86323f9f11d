"""Candidate records (name, email, agency); profiles with skills, education and experience come later."""
