"""The plain words pages and messages use for flags, steps and proposal decisions.

One list per thing, so the colleague who flags a step, the team that reviews it and the
signals pages all read the same words for it. Customers are spoken to differently on purpose
(what they lived through, not the team's vocabulary of wastes): their words are the second part
of this module, and nothing staff-facing uses them.
"""

from __future__ import annotations

from workflow.vocabulary import FlagCategory, FlagStatus, StepKind

__all__ = [
    "CATEGORY_MEANINGS",
    "CATEGORY_WORDS",
    "CUSTOMER_CATEGORIES",
    "CUSTOMER_PHRASES",
    "KIND_WORDS",
    "REVIEW_STATUS_WORDS",
    "SEVERITY_WORDS",
    "STATUS_WORDS",
    "customer_phrase",
]

# --- what staff, owners and reviewers read ------------------------------------------------

#: Each flag category as a short label (the flag form's choices, lists, charts).
CATEGORY_WORDS: dict[FlagCategory, str] = {
    FlagCategory.DEFECTS: "Mistakes and rework",
    FlagCategory.OVERPRODUCTION: "Work nobody uses",
    FlagCategory.WAITING: "Waiting",
    FlagCategory.NON_UTILISED_TALENT: "Skills not used",
    FlagCategory.TRANSPORTATION: "Passed around",
    FlagCategory.INVENTORY: "Piling up",
    FlagCategory.MOTION: "Searching and clicking",
    FlagCategory.EXTRA_PROCESSING: "More work than needed",
    FlagCategory.ASKED_TWICE: "Asked twice",
    FlagCategory.UNCLEAR: "Unclear",
    FlagCategory.POINTLESS: "Pointless",
    FlagCategory.TOO_MANY_APPROVALS: "Too many approvals",
    FlagCategory.CHASING_STATUS: "Chasing status",
    FlagCategory.SYSTEM_TROUBLE: "System trouble",
}

#: What each category means, shown beside the flag form so the choice is easy.
CATEGORY_MEANINGS: dict[FlagCategory, str] = {
    FlagCategory.DEFECTS: "Errors that have to be found and put right.",
    FlagCategory.OVERPRODUCTION: "Made too early, too much, or not needed.",
    FlagCategory.WAITING: "Work stands still until someone or something is ready.",
    FlagCategory.NON_UTILISED_TALENT: (
        "People could do more, or know a better way, but are not asked."
    ),
    FlagCategory.TRANSPORTATION: "The case moves between people or places.",
    FlagCategory.INVENTORY: "Cases queue up in an inbox or a backlog.",
    FlagCategory.MOTION: "Looking for things, switching screens.",
    FlagCategory.EXTRA_PROCESSING: "Extra checks, copies or detail nobody needs.",
    FlagCategory.ASKED_TWICE: "The same information is asked for again.",
    FlagCategory.UNCLEAR: "It is hard to know what to do or what happens next.",
    FlagCategory.POINTLESS: "The step adds nothing for anyone.",
    FlagCategory.TOO_MANY_APPROVALS: "Sign-offs that almost always say yes.",
    FlagCategory.CHASING_STATUS: "Someone has to ask where the case is.",
    FlagCategory.SYSTEM_TROUBLE: "Tools are slow, down or get in the way.",
}

#: Each flag status in lower case, to read inside a sentence ("the flag is under review");
#: pages capitalise it where it stands alone.
STATUS_WORDS: dict[FlagStatus, str] = {
    FlagStatus.NEW: "new",
    FlagStatus.UNDER_REVIEW: "under review",
    FlagStatus.ADDRESSED: "addressed",
    FlagStatus.WONT_FIX: "won't fix",
}

#: What each severity (1 to 5) means for the work.
SEVERITY_WORDS: dict[int, str] = {
    1: "Minor annoyance",
    2: "Annoying",
    3: "Slows the work down",
    4: "Serious",
    5: "Stops the work",
}

#: Each step kind in words for people who do the work (owners edit with the modelling terms).
KIND_WORDS: dict[StepKind, str] = {
    StepKind.START: "Where it starts",
    StepKind.END: "Where it ends",
    StepKind.TASK: "Task",
    StepKind.DECISION: "Decision",
    StepKind.PARALLEL_SPLIT: "Work splits to run side by side",
    StepKind.PARALLEL_JOIN: "Parallel work comes together",
    StepKind.WAIT: "Waiting",
    StepKind.APPROVAL: "Approval",
    StepKind.HANDOFF: "Handoff",
    StepKind.SYSTEM: "Done by a system",
    StepKind.SUBPROCESS: "A process of its own",
}

#: The decision on a proposal (``ProposalReview.status``).
REVIEW_STATUS_WORDS: dict[str, str] = {
    "open": "not decided",
    "accepted": "accepted",
    "rejected": "rejected",
    "applied": "applied",
}

# --- what customers read ------------------------------------------------------------------

#: The friction a customer can name, in the words the feedback page offers them.
CUSTOMER_CATEGORIES: dict[FlagCategory, str] = {
    FlagCategory.WAITING: "I had to wait too long",
    FlagCategory.ASKED_TWICE: "I was asked for the same thing twice",
    FlagCategory.UNCLEAR: "It was unclear what to do",
    FlagCategory.POINTLESS: "It felt pointless",
    FlagCategory.TOO_MANY_APPROVALS: "Too many sign-offs",
    FlagCategory.CHASING_STATUS: "I had to chase for news",
    FlagCategory.SYSTEM_TROUBLE: "The website or app did not work",
}

#: Every category as a short public phrase: customer friction and the staff's DOWNTIME wastes
#: (staff flags on the employee steps behind a journey show up on its "you said, we did" page).
CUSTOMER_PHRASES: dict[FlagCategory, str] = {
    FlagCategory.WAITING: "Waiting too long",
    FlagCategory.ASKED_TWICE: "Being asked for the same thing twice",
    FlagCategory.UNCLEAR: "Not knowing what to do",
    FlagCategory.POINTLESS: "A step that felt pointless",
    FlagCategory.TOO_MANY_APPROVALS: "Too many sign-offs",
    FlagCategory.CHASING_STATUS: "Having to chase for news",
    FlagCategory.SYSTEM_TROUBLE: "The website or app not working",
    FlagCategory.DEFECTS: "Mistakes that had to be put right",
    FlagCategory.OVERPRODUCTION: "Work nobody needed",
    FlagCategory.NON_UTILISED_TALENT: "Our people's skills not being used",
    FlagCategory.TRANSPORTATION: "Too many hand-overs",
    FlagCategory.INVENTORY: "Cases left waiting in a queue",
    FlagCategory.MOTION: "Needless back and forth",
    FlagCategory.EXTRA_PROCESSING: "More work than needed",
}


def customer_phrase(category: str) -> str:
    """A category as a short public phrase ("Having to chase for news")."""
    try:
        return CUSTOMER_PHRASES[FlagCategory(category)]
    except ValueError:
        return "Something else"
