"""The three built-in demo scenarios, as data.

Each scenario is what a newcomer sees on first run: a short branching story with an instructor
choice at every turn, an automatic transition of every kind (on end, timeout, hit, GPIO input) and
an ending with an outcome on every path.
"""

from __future__ import annotations

from appliance.demo_library.staging import (
    HEAD,
    TORSO,
    Box,
    FigureScript,
    Mood,
    Motion,
    Pose,
    ScenarioScript,
    SceneScript,
    Setting,
    Speaker,
    standing_figure,
)
from appliance.scenario.model import (
    Audience,
    Choice,
    ChoiceKind,
    OnHit,
    OnInput,
    RubricItem,
    Timeout,
    Zone,
    ZoneKind,
)


def _choice(choice_id: str, label: str, goto: str, kind: ChoiceKind, hotkey: str) -> Choice:
    return Choice(id=choice_id, label=label, goto=goto, kind=kind, hotkey=hotkey)


def _rubric(*items: tuple[str, str, str]) -> tuple[RubricItem, ...]:
    return tuple(RubricItem(id=i, label=label, description=text) for i, label, text in items)


_COMMON_RUBRIC = (
    ("communication", "Communication", "Clear, calm and respectful; says what happens next."),
    ("situational-awareness", "Situational awareness", "Notices exits, bystanders, objects and changes."),
    ("proxemics", "Proxemics", "Keeps a safe gap and an open stance; never corners the person."),
)

# --- 1. Agitated visitor in the ED waiting room ---------------------------------------------

_VISITOR = standing_figure(centre_x=0.5, feet_y=0.9, height=0.55)

WAITING_ROOM_VISITOR = ScenarioScript(
    id="waiting-room-visitor",
    title="Agitated visitor in the ED waiting room",
    summary="A visitor who has waited for hours demands to see his mother and starts shouting at the desk.",
    audience=(Audience.healthcare, Audience.security),
    objectives=(
        "Recognise early signs of escalation: pacing, raised voice, clenched fists.",
        "Acknowledge the visitor's concern before setting limits.",
        "Keep a safe reactionary gap and a clear exit while talking.",
        "Offer realistic options instead of ultimatums.",
    ),
    duration_s=60,
    setting=Setting.waiting_room,
    scenes=(
        SceneScript(
            id="intro",
            title="He wants to see his mother",
            duration_s=8,
            title_card=True,
            line="I've been here three hours! I want to see my mother, right now!",
            subject=FigureScript(_VISITOR, Mood.agitated, motion=Motion.pace),
            description="The visitor paces in front of the desk, voice raised. If nobody acts, he escalates.",
            choices=(
                _choice("calm", "Acknowledge and calm", "calming", ChoiceKind.de_escalate, "1"),
                _choice("order", "Order him to sit down", "escalating", ChoiceKind.escalate, "2"),
            ),
            timeout=Timeout(after_s=20, goto="escalating"),
        ),
        SceneScript(
            id="escalating",
            title="He steps in close",
            duration_s=7,
            line="Don't tell me to sit down! Nobody here is helping her!",
            subject=FigureScript(_VISITOR, Mood.hostile, motion=Motion.approach),
            choices=(
                _choice("options", "Lower voice, offer options", "calming", ChoiceKind.de_escalate, "1"),
                _choice("threaten", "Threaten removal", "assault", ChoiceKind.escalate, "2"),
            ),
            timeout=Timeout(after_s=15, goto="assault"),
        ),
        SceneScript(
            id="calming",
            title="He starts to settle",
            duration_s=6,
            line="Okay. Okay. I just need to know she's all right.",
            subject=FigureScript(_VISITOR, Mood.uneasy, motion=Motion.retreat),
            on_end="resolved",
        ),
        SceneScript(
            id="resolved",
            title="Resolved",
            duration_s=6,
            line="Thank you. I'll wait here. Please tell me when I can see her.",
            subject=FigureScript(_VISITOR, Mood.calm),
            outcome="resolved",
        ),
        SceneScript(
            id="assault",
            title="He lunges at the desk",
            duration_s=5,
            line="Get out of my way!",
            subject=FigureScript(_VISITOR, Mood.hostile, motion=Motion.lunge),
            outcome="assault – security response",
        ),
    ),
    rubric=_rubric(
        *_COMMON_RUBRIC,
        ("offers-options", "Offers options", "Gives real choices: updates, a quiet room, a ward call."),
    ),
)

# --- 2. Person in crisis at a bridge railing -------------------------------------------------

_PERSON = standing_figure(centre_x=0.56, feet_y=0.86, height=0.42)

CRISIS_ON_THE_BRIDGE = ScenarioScript(
    id="crisis-on-the-bridge",
    title="Person in crisis on the bridge",
    summary="At dusk, a person stands at a bridge railing and tells you to leave them alone.",
    audience=(Audience.mental_health, Audience.law_enforcement),
    objectives=(
        "Build rapport before asking for anything.",
        "Listen actively: reflect feelings, summarise, ask open questions.",
        "Recognise when commands raise the risk, and recover by stepping back.",
        "Keep distance and time on your side; call the crisis team early.",
    ),
    duration_s=75,
    setting=Setting.bridge,
    scenes=(
        SceneScript(
            id="intro",
            title="At the railing",
            duration_s=8,
            title_card=True,
            line="Just leave me alone. Nobody would even notice if I was gone.",
            subject=FigureScript(_PERSON, Mood.distressed, motion=Motion.sway),
            choices=(
                _choice("listen", "Introduce yourself, listen", "rapport", ChoiceKind.de_escalate, "1"),
                _choice("order", "Order them off the railing", "commands", ChoiceKind.escalate, "2"),
            ),
        ),
        SceneScript(
            id="rapport",
            title="Rapport",
            duration_s=7,
            line="You'd really listen? It's been the worst month of my life.",
            subject=FigureScript(_PERSON, Mood.uneasy, motion=Motion.retreat),
            choices=(
                _choice("offer-help", "Offer help, stay close", "accepts-help", ChoiceKind.de_escalate, "1"),
            ),
        ),
        SceneScript(
            id="commands",
            title="Commands",
            duration_s=6,
            line="Stop shouting at me! Stay back or I'll jump!",
            subject=FigureScript(_PERSON, Mood.agitated, motion=Motion.sway),
            choices=(
                _choice("step-back", "Step back, soften tone", "withdraws", ChoiceKind.de_escalate, "1"),
                _choice("insist", "Keep giving commands", "climbs", ChoiceKind.escalate, "2"),
            ),
            timeout=Timeout(after_s=20, goto="climbs"),
        ),
        SceneScript(
            id="withdraws",
            title="A little space",
            duration_s=6,
            line="Fine. Just don't come any closer.",
            subject=FigureScript(_PERSON, Mood.distressed, motion=Motion.retreat),
            choices=(_choice("rebuild", "Rebuild rapport", "rapport", ChoiceKind.de_escalate, "1"),),
        ),
        SceneScript(
            id="climbs",
            title="Climbing the railing",
            duration_s=6,
            line="I said stay back!",
            subject=FigureScript(_PERSON, Mood.agitated, motion=Motion.climb),
            outcome="crisis team called",
        ),
        SceneScript(
            id="accepts-help",
            title="Accepts help",
            duration_s=6,
            line="Okay. I'll talk to someone. Can you stay with me?",
            subject=FigureScript(_PERSON, Mood.calm, motion=Motion.retreat),
            outcome="accepts help",
        ),
    ),
    rubric=_rubric(
        ("active-listening", "Active listening", "Reflects feelings, summarises, asks open questions."),
        ("empathy", "Empathy", "Takes the person's pain seriously; no judgement, no false promises."),
        ("patience", "Patience", "Lets silences happen; does not rush to commands."),
        *_COMMON_RUBRIC,
    ),
)

# --- 3. Armed subject in a parking lot -------------------------------------------------------

_SUSPECT = standing_figure(centre_x=0.52, feet_y=0.9, height=0.5)
_BYSTANDER = standing_figure(centre_x=0.84, feet_y=0.62, height=0.24)
WEAPON_UP_S = 2.0
"""When the weapon comes up in the 'draws' scene: the threat and vital zones open here."""


def _zone(zone_id: str, kind: ZoneKind, label: str, box: Box, from_s: float = 0.0) -> Zone:
    return Zone(id=zone_id, kind=kind, label=label, area=box.as_rect(), from_s=from_s)


_torso, _head = _SUSPECT.part(TORSO), _SUSPECT.part(HEAD)

ARMED_SUBJECT_PARKING_LOT = ScenarioScript(
    id="armed-subject-parking-lot",
    title="Armed subject in a parking lot",
    summary="A subject stands by his car with his hands out of sight; a bystander is behind him.",
    audience=(Audience.law_enforcement, Audience.corrections),
    objectives=(
        "Give clear, simple verbal commands.",
        "Recognise the moment a weapon appears and respond in time.",
        "Discriminate targets: the bystander is never a target.",
        "Recognise compliance and move to a safe custody.",
    ),
    duration_s=45,
    setting=Setting.parking_lot,
    scenes=(
        SceneScript(
            id="intro",
            title="Hands out of sight",
            duration_s=8,
            title_card=True,
            line="What do you want? I didn't do anything.",
            subject=FigureScript(_SUSPECT, Mood.uneasy, pose=Pose.hands_hidden, motion=Motion.sway),
            bystander=FigureScript(_BYSTANDER, Mood.bystander),
            description="GPIO inputs branch1/branch2 pick the subject's reaction like the tablet buttons.",
            choices=(
                _choice("complies", "Subject complies", "complies", ChoiceKind.comply, "1"),
                _choice("draws", "Subject draws a weapon", "draws", ChoiceKind.escalate, "2"),
            ),
            on_input=(OnInput(input="branch1", goto="complies"), OnInput(input="branch2", goto="draws")),
            timeout=Timeout(after_s=20, goto="draws"),
        ),
        SceneScript(
            id="complies",
            title="Hands up",
            duration_s=6,
            line="Okay, okay! My hands are up. Don't shoot!",
            subject=FigureScript(_SUSPECT, Mood.calm, pose=Pose.hands_up),
            bystander=FigureScript(_BYSTANDER, Mood.bystander),
            outcome="in custody",
        ),
        SceneScript(
            id="draws",
            title="He draws a weapon",
            duration_s=6,
            line="You're not taking me in!",
            subject=FigureScript(_SUSPECT, Mood.hostile, pose=Pose.aiming, weapon_from_s=WEAPON_UP_S),
            bystander=FigureScript(_BYSTANDER, Mood.bystander),
            description="The weapon comes up at 2 s. A hit stops him; a late response does not.",
            zones=(
                _zone("torso", ZoneKind.threat, "Subject's torso", _torso, from_s=WEAPON_UP_S),
                _zone("head", ZoneKind.vital, "Subject's head", _head, from_s=WEAPON_UP_S),
                _zone("bystander", ZoneKind.no_shoot, "Bystander", _BYSTANDER),
            ),
            on_hit=(
                OnHit(kind=ZoneKind.threat, goto="subject-down"),
                OnHit(zone="head", goto="subject-down"),
            ),
            timeout=Timeout(after_s=5.5, goto="officer-hit"),
        ),
        SceneScript(
            id="subject-down",
            title="Subject down",
            duration_s=6,
            speaker=Speaker.narrator,
            line="Subject down. Cover him, call it in, and request medical aid.",
            subject=FigureScript(_SUSPECT, Mood.hostile, pose=Pose.down),
            bystander=FigureScript(_BYSTANDER, Mood.bystander),
            outcome="threat stopped",
        ),
        SceneScript(
            id="officer-hit",
            title="Too late",
            duration_s=5,
            speaker=Speaker.narrator,
            line="Shots fired. The officer is hit.",
            subject=FigureScript(_SUSPECT, Mood.hostile, pose=Pose.aiming, weapon_from_s=0.0),
            bystander=FigureScript(_BYSTANDER, Mood.bystander),
            shots_fired=True,
            outcome="officer hit",
        ),
    ),
    rubric=_rubric(
        *_COMMON_RUBRIC,
        ("target-discrimination", "Target discrimination", "Fires only at the threat, never the bystander."),
        ("verbal-commands", "Verbal commands", "Short, loud, one command at a time; gives a way to comply."),
    ),
)

DEMO_SCENARIOS: tuple[ScenarioScript, ...] = (
    WAITING_ROOM_VISITOR,
    CRISIS_ON_THE_BRIDGE,
    ARMED_SUBJECT_PARKING_LOT,
)
