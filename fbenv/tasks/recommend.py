"""``fbenv/Recommend-v0``: recommend one catalogue item to a user with hidden requirements.

The prompt shows a procedurally generated catalogue (:mod:`fbenv.tasks.catalogue`: restaurants,
laptops or hotels, ten items with typed attributes) and the user's opening request. The user has
2-3 hard constraints and 1-2 soft preferences, told only when asked (``ASK: ...``). A
recommendation (``RECOMMEND: <id>``) succeeds when the item meets every constraint; its score is
the user's preference quality, 1.0 for the item they like most (the reference), down to just above
0.5 for the worst qualifying one; an item that breaks a constraint scores 0.
"""

from __future__ import annotations

import re

from fbenv.feedback import Verdict
from fbenv.tasks.base import Instance
from fbenv.tasks.catalogue import Catalogue, catalogue_table, make_catalogue, preference_score, slot_for
from fbenv.tasks.conversation import ConversationTask
from fbenv.tasks.dialogue_acts import parse_act, protocol

_ITEM_ID = re.compile(r"(?<![A-Za-z0-9])([A-Za-z])[ -]?(\d{1,2})(?![0-9])")
_NO_ACT = "there is no recommendation in the reply: write RECOMMEND: followed by one item id from the catalogue"


class RecommendTask(ConversationTask):
    """Recommend an item that meets the user's hidden constraints, best by their preferences.

    Args:
        seed: varies the whole set of instances (catalogues and users); 0 by default.
    """

    task_name = "recommend"
    attempt_word = "recommendation"

    def instance(self, index: int) -> Instance:
        """A catalogue and a user goal, derived from (seed, index) alone."""
        rng = self.item_random(index)
        catalogue = make_catalogue(rng)
        needs = {need.attribute.name: need for need in catalogue.needs}
        ordered = [need.attribute for need in catalogue.needs]
        ordered += [a for a in catalogue.domain.attributes if a.name not in needs]
        slots = tuple(slot_for(attribute, needs.get(attribute.name), rng) for attribute in ordered)
        best = catalogue.best()["id"]
        domain = catalogue.domain
        prompt = (
            f"You are helping a user choose a {domain.thing} from this catalogue. The user has requirements "
            f"and preferences they have not told you yet.\n\n{catalogue_table(catalogue)}\n\n"
            f'User: "{domain.request}"\n\n'
            + protocol("recommend", f"<item id>  recommend one {domain.thing}, e.g. \"RECOMMEND: {domain.prefix}01\"")
            + f"\nThe user is happy with a {domain.thing} that meets all their requirements; among those, "
            "some suit them better than others."
        )
        data = {"catalogue": catalogue, "slots": slots, "goal": tuple(s.answer for s in slots if s.relevant)}
        return Instance(self.task_id(index), index, prompt, best, f"RECOMMEND: {best}", data)

    def judge(self, instance: Instance, reply: str) -> tuple[Verdict, tuple[str, ...]]:
        """Find the one recommended item and check it against the constraints; quality by preference."""
        catalogue: Catalogue = instance.data["catalogue"]
        act = parse_act(reply)
        if act is None or act.name == "ask":
            error = _NO_ACT if act is None else "that question is too long to answer; ask it briefly"
            return Verdict(False, 0.0, None, instance.reference, form_error=error), ()
        items = {item["id"].lower(): item for item in catalogue.items}
        named = list(dict.fromkeys(f"{m.group(1)}{int(m.group(2)):02d}".lower()
                                   for m in _ITEM_ID.finditer(act.argument[:2000])))
        found = [items[key] for key in named if key in items]
        if len(found) != 1:
            error = ("the recommendation names no item of the catalogue by its id" if not found
                     else "recommend exactly one item, not several")
            return Verdict(False, 0.0, None, instance.reference, form_error=error), ()
        item = found[0]
        broken = catalogue.violated(item)
        score = 0.0 if broken else preference_score(catalogue, item)
        diagnostics = tuple(f"the {name} requirement is not met" for name in broken)
        if not broken and score < 1.0:
            diagnostics = ("it meets every requirement, but another item suits the user's preferences better",)
        return Verdict(not broken, score, item["id"], instance.reference, diagnostics=diagnostics), broken
