"""The protocol as published (art. 10): Markdown and self-contained Dutch HTML.

The publication has two parts that are never mixed:

1. *Het ondertekende protocol*: the signed text of 20/09/2023, recitals and articles 1 to
   12 with their substance as signed, and the signatures. The clauses are held here
   (:data:`SIGNED`) word for word; only the identification of the parties (name, seat,
   enterprise number, representatives) is taken from the protocol file. Nothing the
   software adds or interprets goes into this part.
2. *Uitvoering door de software (geen deel van het ondertekende protocol)*: how the
   software carries the protocol out, rendered from the very protocol file it enforces
   (fields, recipients, term, retention as counted, security measures, processors, the
   DPO contacts it addresses breach notifications to). A contact the file leaves empty
   is shown as "niet vermeld in het ondertekende protocol".

The footer gives the SHA-256 of the protocol file so that anyone can check which file
the second part came from. Only the signed text of protocol
``agii-abb-pijler3-2023-09-20`` is held; another protocol file is refused rather than
published under this protocol's articles, and so is a file whose term, retention or
number of recipients exceeds what was signed.

Recipients are published as the protocol names them: the category and the number
("twee personen"), never the researchers' names or keys. The names are operational data
(personal data of staff) that the public does not need, and the keys are of no use to a
reader; the published text therefore also stays the same when a researcher is replaced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from pijler3.contract.errors import UserError
from pijler3.contract.protocol import Protocol
from pijler3.exchange.atomic import write_atomic

SOURCES = {
    "KBI": "Cliëntvolgsysteem AgII (KBI)",
    "VDAB": "VDAB-databank",
    "DERIVED": "Afgeleid bij koppeling en pseudonimisering (VDAB)",
}
TYPES = {"text": "tekst", "date": "datum", "bool": "ja/nee", "code": "code"}
NUMBERS = {1: "één", 2: "twee", 3: "drie", 4: "vier", 5: "vijf", 6: "zes", 12: "twaalf"}
NOT_IN_PROTOCOL = "niet vermeld in het ondertekende protocol"


class PublicationError(UserError):
    """The protocol file cannot be published as the signed protocol."""


# -- the signed text ---------------------------------------------------------------------
#
# A block is ("p", text), ("quote", text), ("ul", items) or ("table", (header, rows)).
# A list item is a text, or (text, sub-items). The text is the signed protocol of
# 20/09/2023 (shared/spec/PROTOCOL-2023-09-20.md), its spelling included; a list item
# that the conversion of the signed PDF repeated at a page break is listed once.

Block = tuple[str, Any]

SIGNED_ID = "agii-abb-pijler3-2023-09-20"
# What the signed text fixes, so that a protocol file that exceeds it is not published
# under it: signature date, term (art. 5), retention (art. 3 and 6), recipients (art. 4).
SIGNED_DATE = dt.date(2023, 9, 20)
SIGNED_TERM_YEARS = 5
SIGNED_RETENTION_YEARS = 5
SIGNED_RECIPIENTS = 2

SIGNED_TITLE = (
    "Protocol voor de elektronische mededeling van gepseudonimiseerde gegevens van het"
    " Vlaams Agentschap Integratie en Inburgering aan het Agentschap Binnenlands Bestuur"
)
SIGNED_SUBTITLE = "in het kader van de monitoring van de 3e pijler van inburgering"
SIGNED_FRAMEWORK = (
    "Dit protocol wordt gesloten conform artikel 8, §1, van het decreet van 18 juli 2008"
    " betreffende het elektronische bestuurlijke gegevensverkeer."
)
# How the signed text describes each party and its seat; name, seat, enterprise number
# and representatives come from the protocol file.
SIGNED_PARTY_DESCRIPTION = {
    "agii": ("een privaatrechtelijke stichting", "met statutaire zetel te"),
    "abb": ("", "met administratie zetel te"),
}
SIGNED_PARTIES_NOTE = (
    "AgII en ABB worden hieronder ook wel afzonderlijk aangeduid als een “partij” of"
    " gezamenlijk als de “partijen”;"
)

SIGNED_RECITALS: tuple[str, ...] = (
    "A. Het Agentschap Integratie en Inburgering is op 12 december 2013 opgericht. De"
    " stichting is een privaatrechtelijk vormgegeven extern verzelfstandigd agentschap zoals"
    " bedoeld in artikel 29 van het Kaderdecreet Bestuurlijk Beleid van 18 juli 2003 in de"
    " vorm van een private stichting zoals bedoeld in de wet van 27 juni 1921 betreffende de"
    " verenigingen zonder winstoogmerk, de internationale verenigingen zonder winstoogmerk"
    " en de stichtingen. De stichting draagt de naam “Agentschap Integratie en Inburgering”."
    " De stichting is opgericht door de Vlaamse Gemeenschap, publiekrechtelijke"
    " rechtspersoon, vertegenwoordigd door de Vlaamse Regering, met adres te 1000 Brussel,"
    " Martelaarsplein 19, in uitvoering van Hoofdstuk 6, afdeling 1 van het Decreet van 7"
    " juni 2013 betreffende Het Vlaamse integratie- en inburgeringsdecreet. De stichting"
    " heeft tot doel om overeenkomstig het Decreet het Vlaamse integratie- en"
    " inburgeringsdecreet te ondersteunen, te stimuleren en te begeleiden.",
    "B. Het Agentschap Binnenlands Bestuur (ABB) is een intern verzelfstandigd agentschap"
    " binnen het Vlaamse ministerie “Kanselarij, Bestuur, Buitenlandse zaken en Justitie”,"
    " opgericht bij het Besluit van de Vlaamse Regering van 28 oktober 2005. Het agentschap"
    " werd opgericht voor de beleidsondersteuning en de uitvoering van het beleid inzake de"
    " binnenlandse aangelegenheden, met inbegrip van de coördinatie van het beleid met"
    " betrekking tot Brussel-Hoofdstad en met betrekking tot de Vlaamse Rand rond Brussel,"
    " van het stedenbeleid, van het integratie- en inburgeringsbeleid en voor de"
    " beleidsondersteuning conform artikel III.2 van het bestuursdecreet van 7 december"
    " 2018. Voor de beleidsondersteuning van het integratie- en inburgeringsbeleid vervult"
    " het agentschap de taken, vermeld in artikel 30, § 1 en § 2, 1°, a), b), en c), en 2°,"
    " van het besluit van de Vlaamse Regering van 3 juni 2005 met betrekking tot de"
    " organisatie van de Vlaamse administratie. Ze is in dit kader ook bevoegd voor het"
    " monitoren van het inburgeringsbeleid;",
    "C. In het kader van de ondersteuning, stimulering en begeleiding van integratie heeft"
    " AgII onder meer de opdracht om inburgeringstrajecten aan te bieden. Sinds 1/3/2022"
    " zijn inburgeraars die een inburgeringscontract ondertekenen, verplicht zich binnen de"
    " 60 dagen bij VDAB in te schrijven, tenzij zij reeds aan het werk zijn of geen toegang"
    " hebben tot de arbeidsmarkt. Dit is de zogenaamde derde pijler van het"
    " inburgeringstraject. Om op te kunnen volgen of dit beleid ten eerste wordt uitgevoerd"
    " en ten tweede het bedoelde effect heeft, moet dit gemonitord worden. Dit monitoren"
    " voor operationele doeleinden gebeurt op basis van gegevensuitwisseling door AgII en"
    " VDAB. De beleidsevaluatie en bijsturing gebeurt door ABB.",
    "D. De monitoring van deze beleidsverandering is niet mogelijk op basis van de bestaande"
    " automatische gegevensuitwisseling in het clientvolgsysteem. Daarom zal AgII, als"
    " beheerder van het clientvolgsysteem, meermaals per jaar eerst op een beveiligde manier"
    " de gegevens van de inburgeraars uit het cliëntvolgsysteem ter beschikking stellen van"
    " VDAB. VDAB zal deze gegevens vervolgens verrijken met data uit de VDAB-databank. Na"
    " pseudonimisering van de gekoppelde data, bezorgt VDAB deze lijst beveiligd aan AgII."
    " Vervolgens zal AgII dat gepseudonimiseerd databestand ter beschikking stellen aan ABB"
    " zodat ABB op deze verkregen data in het kader van haar evaluatie- en"
    ' monitoringsopdracht eveneens analyses kan uitvoeren. Het is deze laatste ("meermaals'
    ' per jaar".) gegevensuitwisseling tussen AgII en ABB die het voorwerp uitmaakt van'
    " huidig protocol.",
    "E. Hoewel het gaat om gepseudonimiseerde gegevens, doet dit geen afbreuk doet aan hun"
    " kwalificatie als persoonsgegevens. Dat is dan ook de reden waarom de mededeling van"
    " deze gegevens aan de nodige waarborgen moet worden onderworpen, waaronder een"
    " protocol.",
    "F. De partijen wensen overeenkomstig artikel 8, §1, van het decreet van 18 juli 2008"
    " betreffende het elektronische bestuurlijke gegevensverkeer een protocol te sluiten met"
    " betrekking tot de elektronische mededeling van persoonsgegevens. Dat protocol wordt"
    " bekendgemaakt op de website van de betrokken partijen.",
    "G. De functionaris voor gegevensbescherming van ABB heeft op 25 juli 2023 advies met"
    " betrekking tot een ontwerp van dit protocol gegeven.",
    "H. De functionaris voor gegevensbescherming van AgII heeft op 2 augustus 2023 advies"
    " met betrekking tot een ontwerp van dit protocol gegeven.",
)

SIGNED_FIELDS: tuple[str, ...] = (
    "leeftijdscategorie",
    "geslacht",
    "scholingsniveau",
    "oudste nationaliteit",
    "datum toeleiding door Agentschappen naar VDAB",
    "doelgroep (rechthebbend of verplicht)",
    "datum doelgroep van inburgering geworden",
    "datum inburgeringscontract",
    "datum aanmelding",
    "regiobepaling in het cliëntvolgsysteem",
    "toeleiding diplomagelijkschakeling en resultaat van deze toeleiding",
    "besluit en reden besluit van de professionele loopbaanoriëntatie",
    "ingeschat taalleervermogen",
    "hoogst behaald niveau NT2",
    "trajecttype",
    "heeft OCMW leefloon",
    "datum laatste NT2-vormingsactiviteit",
    "verblijfsstatus (vb gezinshereniger, erkend vluchteling, arbeidsmigrant, ..)",
    "eerste en meest recente inschrijving bij VDAB",
    "huidige categorie werkzoekende",
    "status dienstverlening bij VDAB",
    "type acties (oriëntatie, context, competentieversterking, solliciteren)",
    "uitstroom naar werk",
)

SIGNED_ARTICLES: tuple[tuple[str, tuple[Block, ...]], ...] = (
    (
        "Artikel 1: Onderwerp",
        (
            (
                "p",
                "In dit protocol worden de voorwaarden en modaliteiten van de elektronische"
                " mededeling van de gepseudonimiseerde gegevens van AgII aan ABB uiteengezet.",
            ),
        ),
    ),
    (
        "Artikel 2: Rechtvaardigingsgronden van zowel de mededeling als de inzameling van de"
        " persoonsgegevens",
        (
            (
                "p",
                "De beoogde gegevensverwerking door ABB gebeurt op grond van artikel 6.1. c)"
                " AVG (het voldoen aan een wettelijke verplichting), minstens op grond van"
                " artikel 6.1. e) AVG (de uitoefening van een taak van algemeen belang):",
            ),
            (
                "ul",
                (
                    (
                        "Artikel 51 van het decreet van 7 juni 2013 betreffende het Vlaamse"
                        " integratie- en inburgeringsbeleid stelt: “Uiterlijk drie jaar na de"
                        " inwerkingtreding van dit decreet, en vervolgens om de drie jaar,"
                        " evalueert de Vlaamse Regering de uitvoering van het Vlaamse"
                        " integratiebeleid en legt ze de evaluatie voor aan het Vlaams"
                        " Parlement.” ABB is verantwoordelijk voor de monitoring en evaluatie"
                        " van het integratie- en inburgeringsbeleid op basis van:",
                        (
                            "Artikel 4 van het BVR van tot oprichting van het intern"
                            " verzelfstandigd agentschap Agentschap Binnenlands Bestuur;",
                            "artikel 30, § 1 en § 2, 1°, a), b), en c), en 2°, van het besluit"
                            " van de Vlaamse Regering van 3 juni 2005 met betrekking tot de"
                            " organisatie van de Vlaamse administratie;",
                        ),
                    ),
                    "Artikel 20, §1, 6° van het decreet van 7 juni 2013 betreffende het"
                    " Vlaamse integratie- en inburgeringsbeleid bepaalt dat het"
                    " cliëntvolgsysteem AgII en ABB moet toelaten om de inburgering op te"
                    " volgen.",
                ),
            ),
            (
                "p",
                "AgII heeft de opgevraagde gegevens oorspronkelijk verzameld voor volgende"
                " doeleinden:",
            ),
            (
                "ul",
                (
                    "In het kader van de ondersteuning, stimulering en begeleiding van"
                    " integratie heeft AgII onder meer de opdracht om inburgeringstrajecten"
                    " aan te bieden (cfr. artikel 17, 1°, a) van het integratie - en"
                    " inburgeringsdecreet van 7 juni 2013);",
                    "De inschrijving bij de VDAB is een onderdeel van dit inburgeringstraject"
                    " (cfr. artikel 29, §1, 3° en artikel 32 van het integratie- en"
                    " inburgeringsdecreet van 7 juni 2013);",
                    "De samenwerking tussen AgII en de VDAB wordt geregeld door een"
                    " samenwerkingsovereenkomst:",
                ),
            ),
            (
                "quote",
                '"De agentschappen en VDAB zetten zich samen in om de economische en'
                " maatschappelijke zelfredzaamheid van inburgeraars maximaal te verhogen. Met"
                " deze SWO bepalen de partijen hoe zij dit willen bereiken de komende jaren en"
                " welke principes het uitgangspunt vormen van de samenwerking.",
            ),
            (
                "quote",
                "Met deze SWO verbinden de partijen zich ertoe de volgende strategische en"
                " bijhorende tactische doelstellingen na te streven:",
            ),
            (
                "ul",
                (
                    "Alle arbeidsbekwame personen van buitenlandse herkomst zijn snel en"
                    " duurzaam aan het werk.",
                    "De begeleiding van gezamenlijke klanten is optimaal afgestemd en"
                    " cliëntgericht.",
                    "Werkgevers en werkgeversorganisaties worden gesensibiliseerd,"
                    " gestimuleerd en ondersteund om maximale tewerkstellings- en"
                    " opleidingskansen te bieden aan personen van buitenlandse herkomst.",
                ),
            ),
            (
                "ul",
                (
                    "De gegevensuitwisseling in het kader van de inburgeringstrajecten tussen"
                    " AgII en de VDAB verloopt normaliter elektronisch via het"
                    " cliëntvolgsysteem (cfr. artikel 20, §1, 5° van het integratie – en"
                    " inburgeringsdecreet van 7 juni 2013).",
                ),
            ),
            (
                "p",
                "Het doeleinde van de verdere verwerking van de (gepseudonimiseerde) gegevens"
                " door ABB is verenigbaar met de doeleinden waarvoor AgII de gegevens"
                " oorspronkelijk heeft verzameld, gezien het gaat om het monitoren van het"
                " inburgeringsbeleid zoals beschreven in het integratie- en"
                " inburgeringsdecreet van 7 juni 2013.",
            ),
        ),
    ),
    (
        "Artikel 3: De gevraagde persoonsgegevens en de categorieën en omvang van de"
        " gevraagde persoonsgegevens conform het proportionaliteitsbeginsel",
        (
            (
                "p",
                "In onderstaande tabel wordt een overzicht gegeven van de verschillende"
                " persoonsgegevens die worden meegedeeld, alsook de verantwoording van de"
                " proportionaliteit en de bewaartermijn van de gegevens.",
            ),
            (
                "p",
                "Het betreft geen persoonsgegevens als vermeld in artikel 9 en/of 10 van de"
                " algemene verordening gegevensbescherming. Indien dat wel het geval is, wordt"
                " dit gespecificeerd in onderstaande tabel.",
            ),
            (
                "p",
                "De meegedeelde gegevens worden gepseudonimiseerd. Ze worden enkel gebruikt in"
                " het kader van de in de overwegingen aangegeven evaluatie en dus niet om"
                " beslissingen te nemen ten aanzien van individuele personen.",
            ),
            ("p", "Gegevens uit cliëntvolgsysteem en VDAB-databank:"),
            ("ul", SIGNED_FIELDS),
            (
                "p",
                "Verantwoording proportionaliteit: AgII geeft deze gegevens door aan ABB om"
                " het traject naar werk en de werkzaamheidsgraad van de gezamenlijke klanten"
                " te monitoren. Op basis van deze profielkenmerken kan ABB monitoren of"
                " bepaalde categorieën van inburgeraars beter of minder goed bereikt worden.",
            ),
            (
                "p",
                "De meegedeelde gegevens zullen door ABB gedurende 5 jaar bewaard worden. Deze"
                " bewaartermijn kan worden verantwoord aangezien hiermee de evolutie van de"
                " uitvoering van de nieuwe beleidsmaatregel binnen het inburgeringsbeleid kan"
                " opgevolgd worden.",
            ),
        ),
    ),
    (
        "Artikel 4: De categorieën van ontvangers en derden die mogelijk de gegevens eveneens"
        " verkrijgen",
        (
            (
                "p",
                "ABB zal de meegedeelde persoonsgegevens in het kader van de in artikel 2"
                " vooropgestelde finaliteiten kunnen medelen aan volgende categorie(ën) van"
                " ontvangers:",
            ),
            (
                "ul",
                (
                    "beleidsmedewerkers onderzoek van ABB (twee personen). Zij hebben omwille"
                    " van hun functieprofiel deze informatie nodig voor de uitvoering van hun"
                    " werk.",
                ),
            ),
            (
                "p",
                "Elke eventuele mededeling van de gevraagde persoonsgegevens door ABB moet"
                " voorafgaandelijk aan AgII worden gemeld en moet uiteraard in overeenstemming"
                " zijn met de relevante wet- en regelgeving inzake de bescherming van"
                " natuurlijke personen bij de verwerking van persoonsgegevens. Dat betekent"
                " onder meer dat ABB waar vereist een protocol sluit voor de mededeling van de"
                " gevraagde gegevens.",
            ),
        ),
    ),
    (
        "Artikel 5. Periodiciteit van de mededeling en de duur van de mededeling",
        (
            (
                "p",
                "De persoonsgegevens zullen op regelmatige basis worden opgevraagd gedurende 5"
                " jaar (d.i. de duur van de samenwerkingsovereenkomst tussen AgII en VDAB) en"
                " omdat dit stabiele monitoring mogelijk maakt.",
            ),
        ),
    ),
    (
        "Artikel 6: Beveiligingsmaatregelen",
        (
            (
                "p",
                "Volgende maatregelen worden getroffen ter beveiliging van de mededeling van"
                " de persoonsgegevens, vermeld in artikel 3:",
            ),
            (
                "p",
                "De gegevens worden door AgII ter beschikking gesteld via de Sharepoint van de"
                " werkgroep BI rapportering. Toegang tot deze SharePoint is ingeregeld en"
                " gedocumenteerd. Een beperkt aantal medewerkers van het Agentschap Integratie"
                " en Inburgering, Atlas, Integratie en Inburgering Gent en Agentschap"
                " Binnenlands Bestuur (ABB) hebben toegang tot de SharePoint.",
            ),
            (
                "p",
                "ABB neemt de nodige beveiligingsmaatregelen wat het op eenvoudig verzoek van"
                " een medewerker van AgII kan aantonen.",
            ),
            (
                "p",
                "In het geval ABB voor de verwerking van persoonsgegevens die het voorwerp zijn"
                " van voorliggend protocol, beroep doet op een verwerker (of meerdere"
                " verwerkers), doet het uitsluitend beroep op verwerkers die afdoende"
                " garanties met betrekking tot het toepassen van passende technische en"
                " organisatorische maatregelen bieden opdat de verwerking aan de vereisten van"
                " de AVG voldoet en de bescherming van de rechten van de betrokkene is"
                " gewaarborgd.",
            ),
            (
                "p",
                "De verplichtingen die uit dit protocol voortvloeien worden aan de eventuele"
                " verwerkers van de partijen meegedeeld.",
            ),
            (
                "p",
                "Partijen bezorgen elkaar een overzicht van de verwerkers die de gevraagde"
                " gegevens verwerken, en actualiseren dit overzicht zo nodig.",
            ),
            (
                "p",
                "Ingeval van problemen met hun verwerker(s) engageren partijen zich om de"
                " gepaste maatregelen te nemen om zich te verzekeren van de conformiteit van"
                " de verwerking met de wetgeving ter bescherming van persoonsgegevens in het"
                " algemeen en met de AVG in het bijzonder.",
            ),
            ("p", "De gegevens worden maximaal vijf jaar bewaard."),
            (
                "ul",
                (
                    "Het Agentschap Binnenlands Bestuur heeft een functionaris voor"
                    " gegevensbescherming (DPO) aangewezen en heeft minstens een actueel"
                    " veiligheidsbeleid en -plan dat jaarlijks wordt herzien.",
                ),
            ),
            (
                "table",
                (
                    ("Naam", "Naam DPO", "Telefoon/E-mail"),
                    (("ABB", "Yves Andriessen", "+32 484 339 699 yves.andriessen@vlaanderen.be"),),
                ),
            ),
        ),
    ),
    (
        "Artikel 7: Kwaliteit van de persoonsgegevens",
        (
            (
                "p",
                "De gegevens uit het cliëntvolgsysteem en uit de VDAB-databank worden"
                " ingevoerd door respectievelijk vele trajectbegeleiders, diensten bevolking"
                " van de lokale besturen en bemiddelaars. De data uit de cliëntvolgsystemen"
                " zijn niet gecleaned maar worden in hun bestaande vorm doorgegeven. Er zijn"
                " ook lege waarden. Een volledige garantie tot accuraatheid kan daarom nooit"
                " verwacht worden.",
            ),
        ),
    ),
    (
        "Artikel 8: Sanctie bij niet-naleving",
        (
            (
                "p",
                "Onverminderd haar recht om een schadevergoeding te vorderen en in afwijking"
                " van artikel 5, kan AgII dit protocol middels eenvoudige kennisgeving en"
                " zonder voorafgaandelijke ingebrekestelling eenzijdig beëindigen indien ABB"
                " deze persoonsgegevens verwerkt in strijd met hetgeen bepaald is in dit"
                " protocol, met de algemene verordening gegevensbescherming of met andere"
                " relevante wet- of regelgeving inzake de bescherming van natuurlijke personen"
                " bij de verwerking van persoonsgegevens.",
            ),
        ),
    ),
    (
        "Artikel 9: Meldingsplichten",
        (
            (
                "p",
                "Partijen engageren zich in het licht van artikel 33 van de algemene"
                " verordening gegevensbescherming om elkaar [via de functionarissen voor"
                " gegevensbescherming] zonder onredelijke vertraging op de hoogte te stellen"
                " van elk gegevenslek dat zich voordoet betreffende de meegedeelde gegevens"
                " met impact op beide partijen en in voorkomend geval onmiddellijk gezamenlijk"
                " te overleggen teneinde alle maatregelen te nemen om de gevolgen van het"
                " gegevenslek te beperken en te herstellen. De partijen verschaffen elkaar"
                " alle informatie die ze nuttig of nodig achten om de beveiligingsmaatregelen"
                " te optimaliseren.",
            ),
            (
                "p",
                "De betrokken partijen brengen elkaar onmiddellijk op de hoogte van wijzigingen"
                " van wetgeving met impact op voorliggend protocol, zoals de finaliteit,"
                " proportionaliteit, frequentie, duurtijd enz. en in voorkomend geval van"
                " wijzigingen omtrent de verwerkers.",
            ),
        ),
    ),
    (
        "Artikel 10: Transparantie",
        (
            (
                "p",
                "Partijen informeren de betrokkenen, in het licht van het"
                " transparantiebeginsel van de algemene verordening.",
            ),
            ("p", "Dit protocol zal op de website van ABB worden gepubliceerd."),
            (
                "p",
                "Dit protocol zal door worden gepubliceerd/gecommuniceerd op de website van"
                " AgII via https://www.integratie-inburgering.be/machtigingen-van-de-"
                "agentschappen-integratie-en-inburgering",
            ),
        ),
    ),
    (
        "Artikel 11: Toepasselijk recht en geschillenbeslechting",
        (
            ("p", "Dit protocol wordt beheerst door het Belgisch recht."),
            (
                "p",
                "Alle geschillen die voortvloeien uit of verband houden met dit protocol"
                " worden beslecht door de bevoegde rechtbank in Brussel.",
            ),
        ),
    ),
    (
        "Artikel 12: Inwerkingtreding en opzegging",
        (
            ("p", "Dit protocol treedt in werking op datum van ondertekening door beide partijen."),
            (
                "p",
                "Partijen kunnen dit protocol schriftelijk opzeggen mits inachtneming van een"
                " opzegtermijn van één maand.",
            ),
            (
                "p",
                "Het protocol eindigt van rechtswege na afloop van de in artikel 5 van dit"
                " protocol bedoelde termijn van mededeling. Het protocol eindigt tevens van"
                " rechtswege wanneer er geen rechtsgrond meer bestaat voor de gevraagde"
                " doorgifte van persoonsgegevens.",
            ),
        ),
    ),
)

SIGNED_CLOSING = (
    "Opgemaakt te Brussel, op 20/09/2023 in evenveel exemplaren als dat er partijen zijn."
)
SIGNED_SIGNATURES: tuple[tuple[str, str], ...] = (
    ("Namens AgII", "Jo De Ro, algemeen directeur AgII"),
    ("Namens ABB", "Jeroen Windey, administrateur-generaal ABB"),
)

# -- what the software adds (not part of the signed protocol) -------------------------

# The measures the software itself enforces (SYSTEM.md), stated in the second part.
SECURITY = (
    "Het protocol bepaalt dat AgII de gegevens ter beschikking stelt via de SharePoint van"
    " de werkgroep BI rapportering (artikel 6). De software steunt niet op de toegang tot"
    " die SharePoint: een pakket is waar het ook bewaard wordt alleen leesbaar voor de"
    " ontvangers voor wie het versleuteld is.",
    "Elk pakket wordt versleuteld (age, X25519) voor uitsluitend de ontvangers die het"
    " protocolbestand noemt, en ondertekend (Ed25519) door de verzendende partij; de"
    " ontvanger controleert die handtekening met de sleutel uit het protocolbestand.",
    "Alleen VDAB beschikt over de pseudonimiseringssleutel; AgII en ABB zien na de"
    " export geen rijksregisternummer meer en kunnen het niet uit een pseudoniem afleiden.",
    "Elke stap weigert velden die niet in het protocolbestand staan en laat geen directe"
    " identificatoren door; vrije tekst wordt op identificatoren gecontroleerd.",
    "Vóór de terbeschikkingstelling aan ABB wordt het heridentificatierisico getoetst.",
    "Elke partij houdt een append-only, met hashes geketend auditlogboek bij dat op"
    " verzoek aan de andere partij kan worden voorgelegd.",
    "Leveringen worden na de bewaartermijn vernietigd; van elke vernietiging wordt een"
    " ondertekende verklaring opgemaakt voor de functionaris voor gegevensbescherming"
    " van AgII.",
    "Gegevenslekken worden geregistreerd; de software stelt de melding aan de functionaris"
    " voor gegevensbescherming van de andere partij op en volgt de termijn van 72 uur van"
    " artikel 33 AVG op.",
)


@dataclass(frozen=True)
class Rendered:
    markdown: str
    html: str


def _d(day: dt.date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else ""


def _number(n: int) -> str:
    return NUMBERS.get(n, str(n))


def _or_missing(text: str) -> str:
    return text.strip() or NOT_IN_PROTOCOL


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(text: object) -> str:
    """Escape text for Markdown so that it is shown as written (also inside tables)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pijler3", "data/templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["d"] = _d
    env.filters["md"] = _md
    env.filters["number"] = _number
    env.filters["or_missing"] = _or_missing
    env.tests["text"] = _is_str
    return env


def check_publishable(protocol: Protocol) -> None:
    """Refuse a protocol file that cannot be published as the signed protocol.

    The first part of the publication is the signed text of one protocol; publishing it
    for another protocol, or next to a file that allows more than was signed, would
    misstate what was agreed.
    """
    if protocol.id != SIGNED_ID:
        raise PublicationError(
            f"protocol {protocol.identifier}: no signed text is held for this protocol;"
            f" only {SIGNED_ID} can be published (art. 10).",
            hint="Add the signed text of this protocol to pijler3.governance.publication first.",
        )
    exceeded = [
        (what, have, signed)
        for what, have, signed in (
            ("term_years", protocol.term_years, SIGNED_TERM_YEARS),
            ("retention_years", protocol.retention_years, SIGNED_RETENTION_YEARS),
            ("recipients.max", protocol.recipients_max, SIGNED_RECIPIENTS),
        )
        if have > signed
    ]
    if protocol.signed != SIGNED_DATE:
        raise PublicationError(
            f"protocol file: signed = {protocol.signed:%d/%m/%Y}, the signed protocol is of"
            f" {SIGNED_DATE:%d/%m/%Y}.",
            hint="Correct the protocol file; the published text must match what was signed.",
        )
    if exceeded:
        what, have, signed = exceeded[0]
        raise PublicationError(
            f"protocol file: {what} = {have} exceeds the signed protocol ({signed}).",
            hint="Correct the protocol file; the software may not allow more than was signed.",
        )


def render(protocol: Protocol, source: bytes | None = None) -> Rendered:
    """Render ``protocol``; ``source`` is the file's bytes (read from its path if None)."""
    check_publishable(protocol)
    if source is None:
        path = Path(protocol.source_path)
        source = path.read_bytes() if path.exists() else b""
    context = {
        "p": protocol,
        "signed": {
            "title": SIGNED_TITLE,
            "subtitle": SIGNED_SUBTITLE,
            "framework": SIGNED_FRAMEWORK,
            "party_description": SIGNED_PARTY_DESCRIPTION,
            "parties_note": SIGNED_PARTIES_NOTE,
            "recitals": SIGNED_RECITALS,
            "articles": SIGNED_ARTICLES,
            "closing": SIGNED_CLOSING,
            "signatures": SIGNED_SIGNATURES,
        },
        "parties": [(r, protocol.parties[r]) for r in ("agii", "abb")],
        "vdab": protocol.parties["vdab"],
        "sources": SOURCES,
        "types": TYPES,
        "security": SECURITY,
        "processors": {
            role: [x for x in protocol.processors if x.party == role]
            for role in ("agii", "vdab", "abb")
        },
        "sha256": hashlib.sha256(source).hexdigest() if source else "",
        "file": Path(protocol.source_path).name,
    }
    md = _env(False).get_template("protocol.md.j2").render(context)
    html = _env(True).get_template("protocol.html.j2").render(context)
    return Rendered(md, html)


def write(protocol: Protocol, out: Path, source: bytes | None = None) -> tuple[Path, Path]:
    """Write ``protocol.md`` and ``protocol.html`` into ``out``; return their paths."""
    rendered = render(protocol, source)
    out.mkdir(parents=True, exist_ok=True)
    md_path, html_path = out / "protocol.md", out / "protocol.html"
    write_atomic(md_path, rendered.markdown.encode("utf-8"))
    write_atomic(html_path, rendered.html.encode("utf-8"))
    return md_path, html_path
