from opmaestro.core.errors import NotFound


class PolicyNotFound(NotFound):
    slug, title = "policy-not-found", "Policy not found"
