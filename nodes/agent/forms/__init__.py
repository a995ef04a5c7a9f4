"""Forms as people describe them: logging in with credentials written any usual way,
filling a whole form from a description ("a medium pizza with bacon for Ada, phone
..."), and typing into code editors and rich-text widgets.

- ``describe``: the values a description names, and which form field each goes to (pure);
- ``login``, ``fill``, ``editors``: carrying those out in a page.

The rules planner's clauses for logging in and filling forms are in ``rules/forms.py``.
"""
