"""An example fbenv plug-in: a binary/text critic that is unfailingly polite."""

from fbenv.simulators import Simulator


class Polite(Simulator):
    """Says the truth, kindly."""

    name = "polite"
    kinds = ("binary", "text")

    def respond(self, instance, transcript, verdict, rng):
        """Thank the agent either way; the label is the verdict's."""
        if verdict.correct:
            return self.make_feedback("That is right, thank you!", True)
        return self.make_feedback("Thank you! Not quite right yet, would you try once more?", False)
