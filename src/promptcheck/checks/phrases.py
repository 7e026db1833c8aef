"""Phrase lists for the negative constraints, kept as plain data so they are easy to review
and to extend (at run time through ``CheckContext.phrases`` or a check's ``phrases`` option).

Matching is case-insensitive and word-bounded (see ``constraints.phrase_regex``): a phrase
ending in a letter only matches when the next character is not a letter, so "Sure" does not
fire on "Surely" and "Okay" does not fire on "Okayama". A typographic apostrophe (’) in the
answer is read as a plain one, so "Here's" also catches "Here’s".
"""

from __future__ import annotations

# Openers of the first non-empty line that mean the model is chatting instead of answering.
INTRO_PHRASES: tuple[str, ...] = (
    "Sure",
    "Certainly",
    "Of course",
    "Absolutely",
    "Definitely",
    "Here is",
    "Here's",
    "Here are",
    "Great question",
    "Good question",
    "What a great question",
    "As an AI",
    "As a language model",
    "I'd be happy to",
    "I would be happy to",
    "I'd be glad to",
    "I would be glad to",
    "I'm happy to",
    "I am happy to",
    "Happy to help",
    "Glad you asked",
    "Below is",
    "Below are",
    "Below you'll find",
    "Below you will find",
    "Okay",
    "Ok,",
    "Ok.",
    "Ok!",
    "Alright",
    "All right",
    "Hello",
    "Hi ",
    "Hi,",
    "Hi!",
    "Hey",
    "Greetings",
    "Thanks for",
    "Thank you for",
    "Let me",
    "No problem",
    "Got it",
)

# Openers of any line that introduce a closing summary the prompt asked the model to skip.
CONCLUSION_OPENERS: tuple[str, ...] = (
    "In conclusion",
    "In summary",
    "To summarize",
    "To summarise",
    "To sum up",
    "To conclude",
    "In closing",
    "All in all",
    "To wrap up",
    "Overall,",
    "Ultimately,",
)

# Sign-offs; only the last non-empty line is searched, anywhere in the line.
SIGN_OFF_PHRASES: tuple[str, ...] = (
    "I hope this helps",
    "Hope this helps",
    "Hope that helps",
    "Let me know",
    "Feel free to",
    "Happy coding",
    "Good luck",
    "If you have any questions",
    "If you have any other questions",
    "If you have any further questions",
    "If you have any more questions",
    "Don't hesitate to",
    "Do not hesitate to",
)
