import pandas as pd

from personify.personas.themes import segment_voices


def _texts() -> pd.DataFrame:
    garden = [
        "More garden and seasonal items in the store please, the garden range is small",
        "More garden and seasonal iteems in the store please, the garden range is small",
        "The garden centre staff were lovely and helped me choose seasonal plants",
        "Please stock more garden furniture in store before the summer season",
        "Call me on 07700 900123 about the garden furniture order. Regards, Margaret",
    ] * 3
    app = [
        "The app crashed at checkout twice and I lost my basket",
        "App keeps logging me out, checkout in the app is broken",
        "Sizing is off, had to return the jacket through the app",
        "The app checkout froze and the return label never came",
        "Returned the hoodie, the app return flow is confusing",
    ] * 3
    return pd.DataFrame(
        {
            "segment_id": [1] * len(garden) + [2] * len(app),
            "text": garden + app,
            "source": "support_tickets",
            "date": "2025-01-01",
        }
    )


def test_each_segment_gets_its_own_themes() -> None:
    voices = segment_voices(_texts(), quotes_per_segment=2)
    garden_terms = " ".join(str(t["term"]) for t in voices[1].themes)
    app_terms = " ".join(str(t["term"]) for t in voices[2].themes)
    assert "garden" in garden_terms and "app" not in garden_terms
    assert "app" in app_terms and "garden" not in app_terms
    assert voices[1].texts == 15


def test_quotes_are_scrubbed_and_not_near_repeats() -> None:
    quotes = segment_voices(_texts(), quotes_per_segment=3)[1].quotes
    assert len(quotes) == 3
    texts = [q["text"] for q in quotes]
    assert not any("07700" in t or "Margaret" in t for t in texts)
    # the typo'd copy of the first ticket is a near-repeat and never quoted beside it
    assert not ("seasonal items" in " ".join(texts) and "seasonal iteems" in " ".join(texts))
    assert len(set(texts)) == 3


def test_no_texts_no_voice() -> None:
    assert segment_voices(_texts().iloc[0:0], quotes_per_segment=2) == {}
