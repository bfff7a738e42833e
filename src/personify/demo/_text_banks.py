"""Phrase banks for customer-written text. Placeholders: {product} {category} {town} {code}
{amount} {days} {order}. Per type: themes with a ticket topic, subjects, complaints and wishes."""

from __future__ import annotations

from typing import NamedTuple


class Theme(NamedTuple):
    topic: str
    subjects: tuple[str, ...]
    complaints: tuple[str, ...]
    wishes: tuple[str, ...]


THEMES: dict[str, tuple[Theme, ...]] = {
    "value_families": (
        Theme(
            "delivery",
            (
                "Delivery charge",
                "Delivery costs too high",
                "Why so much for delivery?",
                "Refund of delivery fee",
            ),
            (
                "The delivery charge of £{amount} is more than half the price of the {product}, "
                "which feels unfair.",
                "We order most weeks and paying for delivery every single time really adds up for "
                "a "
                "family.",
                "Delivery costs went up again and it wiped out the saving from the offer.",
                "I was charged £{amount} delivery on a small order of {category} bits, can you "
                "refund "
                "that?",
                "Free delivery used to start at £40 and now it seems higher, which is annoying "
                "with "
                "three kids to shop for.",
                "Why is delivery to {town} so expensive when the store is always out of stock?",
                "We nearly abandoned the basket when the delivery fee appeared at checkout.",
            ),
            (
                "Free delivery on smaller orders would make a big difference for our family "
                "budget.",
                "A delivery pass for families who order often would keep us shopping here.",
                "Please bring back the lower free delivery threshold.",
                "Cheaper delivery, simple as that.",
            ),
        ),
        Theme(
            "stock",
            ("Out of stock again", "Item unavailable", "Restock date?", "Stock at {town} store"),
            (
                "The {product} has been out of stock for weeks and the restock date keeps moving.",
                "I drove to the {town} store because the website said it was in stock, but the "
                "shelf "
                "was empty.",
                "We needed a second {product} for the kids' room and now it is discontinued in "
                "that "
                "colour.",
                "Back in stock emails arrive after everything has sold out again.",
                "Half of the {category} range shows as unavailable for delivery to my postcode.",
                "The school holidays are coming and the {product} we wanted is still unavailable.",
            ),
            (
                "Better stock levels on kids' basics before the school holidays.",
                "Show real stock for my local store so we don't waste a trip.",
                "Let us reserve an item when it comes back in stock.",
            ),
        ),
        Theme(
            "discount_code",
            (
                "Discount code not working",
                "Voucher problem",
                "Code {code} rejected",
                "Offer not applied",
            ),
            (
                "The code {code} from your email says it is not valid, even though it should run "
                "until Sunday.",
                "I applied {code} at checkout but the discount disappeared when I paid.",
                "Your voucher did not work on the {product}, the small print was not clear at all.",
                "I was promised 20% off with {code} and got charged full price.",
                "The family discount only works on some items and the website does not say which.",
                "The app accepted {code} but the website rejected it for the same basket.",
            ),
            (
                "Make discount codes work on everything, or say clearly where they don't.",
                "More family bundles and multi-buy offers on everyday items.",
                "Send offers that actually work at checkout.",
            ),
        ),
        Theme(
            "product_quality",
            ("Broken {product}", "Quality issue", "Missing parts"),
            (
                "The {product} did not survive a month with two toddlers.",
                "The paint on the {product} chipped as soon as the kids started using it.",
                "Assembly instructions for the {product} were missing a page, it took us all "
                "evening.",
                "The {product} is smaller than it looks in the photos, too small for a family of "
                "five.",
            ),
            (
                "Sturdier kids' furniture that lasts through more than one child.",
                "More storage ideas for small family homes.",
                "Bundles for kids' rooms at a sensible price.",
            ),
        ),
    ),
    "young_digital": (
        Theme(
            "app",
            ("App keeps crashing", "Can't log in to the app", "App checkout bug", "Wishlist gone?"),
            (
                "The app keeps logging me out every time I open it.",
                "The app crashes when I try to pay with Apple Pay.",
                "My wishlist disappeared after the latest app update.",
                "Search in the app is useless, typing {category} shows random stuff.",
                "Checkout in the app froze and I got charged twice for the {product}.",
                "Notifications from the app are spammy but the order updates never come through.",
                "The app is so slow on my phone compared to other shops.",
            ),
            (
                "A faster app with dark mode and a wishlist that syncs.",
                "Let me pay with Klarna or PayPal in the app.",
                "Better filters in the app so I can find stuff quickly.",
                "Order tracking in the app that actually updates.",
            ),
        ),
        Theme(
            "returns",
            ("Where is my refund?", "Return not processed", "Returns QR code", "Return label"),
            (
                "I sent the {product} back two weeks ago and still no refund.",
                "Why do I have to pay for returns when the item arrived damaged?",
                "The returns QR code in the app doesn't work at the drop-off point.",
                "Returned three things in one parcel and you only refunded two.",
                "Return label printing is so old school, who has a printer?",
            ),
            (
                "Free returns, easy QR code drop off, quick refunds.",
                "Let me return app orders in store without a receipt.",
                "Instant refunds when the parcel is scanned would be amazing.",
            ),
        ),
        Theme(
            "sizing",
            ("Size guide wrong", "Wrong fit", "Colour not as shown"),
            (
                "The {product} runs really small, I had to return it and order a size up.",
                "The size guide for the {product} is completely different from the actual fit.",
                "The colour of the {product} looks nothing like the photos.",
                "Ordered two sizes of the {product} because the guide was confusing, now I have to "
                "send one back.",
            ),
            (
                "Proper size guides with measurements and real photos from customers.",
                "Show the products on real people, not just studio shots.",
                "More reviews with photos so I know what I'm buying.",
            ),
        ),
        Theme(
            "product_range",
            ("Sold out!", "Item from Instagram", "New drops?"),
            (
                "Everything I liked on your TikTok is sold out already.",
                "The {category} range feels a bit dated compared to other brands.",
                "The {product} I saw on Instagram isn't on the website.",
            ),
            (
                "More small, affordable pieces for renters and tiny flats.",
                "New {category} drops more often, and early access in the app.",
                "Collabs with creators and more sustainable options at student prices.",
            ),
        ),
    ),
    "affluent_professionals": (
        Theme(
            "delivery",
            (
                "Delivery slot",
                "Missed delivery",
                "Rebooking delivery of {product}",
                "Two-person delivery",
            ),
            (
                "The delivery slot for the {product} was 7am to 7pm, I cannot take a whole day off "
                "work.",
                "The driver arrived outside the booked slot and nobody was home.",
                "I need a precise delivery window for a {product} of this value.",
                "We rebooked the delivery twice and the {product} still hasn't arrived.",
                "Two-person delivery was booked but only one driver turned up and could not carry "
                "the "
                "{product} upstairs.",
                "There was no option for evening or weekend delivery in {town}.",
            ),
            (
                "Narrow, guaranteed delivery slots, including evenings and Saturdays.",
                "A premium delivery service with assembly and packaging removal.",
                "Real-time tracking of the van on delivery day.",
            ),
        ),
        Theme(
            "product_quality",
            ("Quality of {product}", "Damaged finish", "Not as expected"),
            (
                "For the price, the finish on the {product} is disappointing.",
                "The {product} arrived with a scratch on the top and the veneer is lifting.",
                "The fabric on the {product} pilled after a few weeks, not what I expect at this "
                "price "
                "point.",
                "The {product} looks nothing like the premium photos on the website.",
                "The drawers on the {product} don't close properly and one handle was loose.",
            ),
            (
                "Better materials and craftsmanship; I'm happy to pay more for quality.",
                "More solid wood and natural materials, fewer veneers.",
                "Longer guarantees on furniture would show confidence in the product.",
            ),
        ),
        Theme(
            "service",
            ("No reply", "Escalation", "Order {order}", "Still waiting"),
            (
                "I have emailed three times about order {order} and nobody has replied.",
                "Waiting five days for a reply is not acceptable customer service.",
                "Your chat agent closed the conversation before resolving anything.",
                "I would like one named contact to sort out this {product} issue, not a new agent "
                "every time.",
                "Please escalate this; I have already spent too long on a simple request.",
            ),
            (
                "Faster, more personal customer service, ideally a dedicated contact.",
                "A design consultation service for larger rooms.",
                "Reply within a day, and fix things first time.",
            ),
        ),
        Theme(
            "product_range",
            ("Packaging", "Materials question"),
            (
                "The {product} came wrapped in an absurd amount of plastic.",
                "There is no information about where the wood for the {product} comes from.",
            ),
            (
                "Clear information on materials, origin and sustainability.",
                "A take-back scheme for old furniture when new pieces are delivered.",
                "Less packaging and FSC certified timber across the range.",
            ),
        ),
    ),
    "store_loyalists": (
        Theme(
            "website",
            (
                "Website problem",
                "Cannot order online",
                "Help with website",
                "Loyalty points online",
            ),
            (
                "I find the website very hard to use, the writing is too small and I could not "
                "find "
                "the {category} section.",
                "I tried to order online but the website kept asking me to make a password.",
                "My grandson usually helps me order but the website changed and now I can't find "
                "anything.",
                "The website would not accept my card and I had to phone instead.",
                "I don't have a smartphone so I cannot use your app for the offers.",
                "I could not find how to use my loyalty points online.",
            ),
            (
                "A simpler website with bigger text, or let me order by phone.",
                "Keep paper catalogues and the option to order in store.",
                "Please don't make everything app-only, not everybody has a smartphone.",
            ),
        ),
        Theme(
            "store",
            ("Opening hours", "{town} store", "Store closed", "Café"),
            (
                "The {town} store now closes at 5pm, which is too early.",
                "The store was closed on Sunday morning without any notice.",
                "Reduced opening hours in {town} make it hard to get there when the bus runs.",
                "The store café has closed, which was half the reason for our weekly visit.",
                "There is nowhere to sit in the {town} store anymore.",
            ),
            (
                "Longer opening hours and bring back the café.",
                "Keep the {town} store open, we rely on it.",
                "A quiet shopping hour for older customers would be lovely.",
            ),
        ),
        Theme(
            "store",
            ("Staff in store", "No help in store", "Tills"),
            (
                "There were no staff on the shop floor to help me with the {product}.",
                "The tills were so busy and only one was open.",
                "The lady in the {town} store was very helpful but there is never anyone around "
                "now.",
                "Nobody could help me carry the {product} to the car.",
                "I was told to order online at the till, which I can't do.",
            ),
            (
                "More friendly staff in store who know the products.",
                "Help with carrying heavy items to the car.",
                "Staff who can order things for me in store.",
            ),
        ),
        Theme(
            "product_quality",
            ("Faulty {product}", "Garden furniture", "Missing screws"),
            (
                "The {product} went rusty after one winter in the garden.",
                "The {product} I bought in store was missing screws.",
                "The {product} faded badly in the sun after one summer.",
                "The {product} wobbles and I was told it cannot be exchanged.",
            ),
            (
                "Good quality garden furniture that lasts several seasons.",
                "More garden and seasonal items in the store, not just online.",
                "Double points days for loyalty members more often.",
            ),
        ),
    ),
    "one_time_bargain_hunters": (
        Theme(
            "refund",
            ("REFUND", "Refund now", "Money back", "Cancel and refund"),
            (
                "I want a full refund for the {product} immediately.",
                "It has been {days} days and I still haven't got my money back.",
                "Refund my order now or I will contact my bank to reverse the payment.",
                "You took £{amount} and sent nothing, I want a refund today.",
                "I returned the {product} and the refund is less than I paid.",
                "Cancel my order and refund me, I found it cheaper elsewhere.",
            ),
            (
                "Quicker refunds, nothing else matters.",
                "Honest prices and no hidden charges.",
                "Refund within 24 hours like other shops do.",
            ),
        ),
        Theme(
            "complaint",
            ("Complaint", "Terrible service", "Formal complaint", "Never again"),
            (
                "This is the worst online shopping experience I have ever had.",
                "The {product} is cheap rubbish and nothing like the advert.",
                "I will never order from you again and I will leave a review everywhere.",
                "The {product} was broken on arrival and customer service ignored me.",
                "You advertised the {product} at half price and then charged me full price.",
                "Absolutely shocking service, I want to speak to a manager.",
            ),
            (
                "Stop advertising deals you don't honour.",
                "Just deliver what you sell, on time, at the advertised price.",
                "Better prices, I only came for the sale.",
            ),
        ),
        Theme(
            "discount_code",
            ("Voucher code", "Price dropped", "Sale price wrong"),
            (
                "The voucher code from the cashback site didn't work.",
                "The price went up the day after I bought the {product}, I want the difference "
                "back.",
                "The {code} code showed as expired even though the affiliate page said it was "
                "valid.",
                "The sale price of the {product} disappeared in the basket.",
            ),
            (
                "Price matching with other retailers.",
                "Bigger discounts and more voucher codes.",
                "Tell me when things go on sale, otherwise I won't buy.",
            ),
        ),
    ),
}

OPENINGS = (
    "Hi,",
    "Hello,",
    "Hi there,",
    "Dear Northwind Living,",
    "Dear Sir or Madam,",
    "Good morning,",
    "To whom it may concern,",
    "Hey,",
    "Afternoon,",
    "",
    "",
    "",
)
CLOSINGS_NAMED = (
    "Regards, {first}",
    "Thanks, {first}",
    "Kind regards, {first} {last}",
    "Cheers, {first}",
    "Many thanks, {first}",
    "Best, {first}",
    "Thank you, {first}",
    "{first} {last}",
)
CLOSINGS_PLAIN = ("Thanks.", "Thank you.", "Regards.", "Waiting for your reply.", "", "")
PII = (
    "You can call me on {phone}.",
    "My number is {phone} if that's easier.",
    "Please reply to {email} instead.",
    "My email is {email}.",
    "Call me on {phone} please.",
    "Contact me at {email} or {phone}.",
)
FILLERS = (
    "I have been a customer for a while.",
    "This is the first time I've had to get in touch.",
    "I hope this can be sorted quickly.",
    "I've attached a photo of the problem.",
    "My order number is {order}.",
    "I bought it as a present so it is quite urgent.",
    "I've already tried the help pages.",
    "Please let me know what you need from me.",
    "It's not the first time this has happened.",
    "I checked my spam folder and there is nothing.",
    "Looking forward to hearing from you.",
    "The order was for my new flat in {town}.",
    "It was for my mum's birthday.",
    "I ordered it on the website last week.",
    "I really like your shop otherwise.",
    "Not happy at all.",
)

REVIEW_TITLES = {
    "pos": (
        "Love it",
        "Great value",
        "Really pleased",
        "Exactly as described",
        "Lovely quality",
        "Five stars",
        "Would buy again",
        "Perfect for our home",
        "Better than expected",
        "Gorgeous",
        "Very happy",
        "Spot on",
    ),
    "mid": (
        "OK for the price",
        "Does the job",
        "Not bad",
        "Mixed feelings",
        "Decent",
        "Fine but not special",
        "Average",
    ),
    "neg": (
        "Disappointed",
        "Poor quality",
        "Not as pictured",
        "Avoid",
        "Broke quickly",
        "Waste of money",
        "Returned it",
        "Not worth it",
    ),
}
REVIEW_GENERIC = {
    "pos": (
        "The {product} looks great in our home.",
        "Good quality for the price.",
        "Easy to put together.",
        "Arrived quickly and well packaged.",
        "Exactly like the photos.",
        "Really happy with the colour.",
        "Feels well made and sturdy.",
        "Goes perfectly with the rest of our {category}.",
    ),
    "mid": (
        "It's fine but nothing special.",
        "Does what it says.",
        "Slightly smaller than expected.",
        "Took a while to arrive but it's OK.",
        "Colour is a bit different from the picture.",
    ),
    "neg": (
        "The {product} arrived damaged.",
        "Feels flimsy.",
        "Colour is different from the website.",
        "Took ages to arrive.",
        "Instructions were useless.",
        "Parts were missing from the box.",
    ),
}
REVIEW_FLAVOUR: dict[str, dict[str, tuple[str, ...]]] = {
    "value_families": {
        "pos": (
            "Survived the kids so far!",
            "Great value, we bought two with the discount.",
            "Perfect for the family, easy to wipe clean.",
            "Got it in the sale with a code, bargain for a family.",
        ),
        "neg": (
            "Not sturdy enough for children.",
            "Would be good value if delivery wasn't so expensive.",
            "The kids broke it in a week.",
        ),
    },
    "young_digital": {
        "pos": (
            "Looks amazing in my flat, got loads of compliments.",
            "So cute, perfect for my room.",
            "Fits true to size and the app ordering was easy.",
            "obsessed with this tbh",
        ),
        "neg": (
            "Sizing is off, had to return.",
            "Looked better on TikTok.",
            "Colour is way off from the photos, sent it back.",
        ),
    },
    "affluent_professionals": {
        "pos": (
            "Solid build quality, worth the investment.",
            "Beautiful finish and materials.",
            "Delivery team were professional and on time.",
            "A proper statement piece for the living room.",
        ),
        "neg": (
            "Not the quality I expect at this price.",
            "The finish is poor for a premium piece.",
            "Delivery slot was missed twice.",
        ),
    },
    "store_loyalists": {
        "pos": (
            "The staff in store helped me choose, lovely service.",
            "Good sturdy item, will last for years.",
            "Bought in store with my loyalty points.",
            "Very nice for the garden.",
        ),
        "neg": (
            "Hard to assemble at my age, the instructions are too small.",
            "Not as good as the old range.",
            "Had to ask the store to order it in.",
        ),
    },
    "one_time_bargain_hunters": {
        "pos": (
            "Cheap and cheerful, only bought it because it was on offer.",
            "Good for the sale price.",
            "Fine for what I paid with the voucher.",
        ),
        "neg": (
            "Cheap rubbish, returned for a refund.",
            "Not worth even the sale price.",
            "Took forever to get my refund.",
            "Would give zero stars if I could.",
        ),
    },
}
SURVEY_EXTRA = (
    "Overall I'm happy.",
    "Keep it up.",
    "Nothing else to add.",
    "Mostly good experiences.",
    "Prices have gone up a lot.",
    "Love the {category} range.",
    "The {town} store is nice.",
    "Not sure.",
    "Good range of {category} products.",
)
