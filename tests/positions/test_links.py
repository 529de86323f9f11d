"""The position pages lead to the candidates ranked by fit."""

from __future__ import annotations

from tests.conftest import sign_in


def test_the_list_and_the_profile_link_to_the_ranking(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    ranking = f"/assessments/positions/{tenant_a.position_id}/fit"
    assert ranking in client.get("/positions").get_data(as_text=True)
    assert ranking in client.get(f"/positions/{tenant_a.position_id}").get_data(as_text=True)
    assert client.get(ranking).status_code == 200
