"""The topic catalogue: what reverse mentors in these institutions teach (DOMAIN.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from telemachus.shared.contracts.vocabulary import TopicId


class Topic(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: TopicId
    title: str = Field(min_length=2, max_length=120)


# Table 1 of the source review; institutions add their own through the API.
SEED_TOPICS = (
    Topic(id="e-medicine", title="E-medicine and telehealth"),
    Topic(id="apps", title="Clinical and learning apps"),
    Topic(id="literature-searching", title="Literature searching"),
    Topic(id="electronic-health-records", title="Electronic health records"),
    Topic(id="social-media-for-learning", title="Social media for learning"),
    Topic(id="genetic-analysis", title="Genetic analysis"),
    Topic(id="clinician-well-being", title="Clinician well-being"),
    Topic(id="diversity-and-cultural-bias", title="Diversity and cultural bias"),
    Topic(id="another-professions-work", title="How another profession works"),
)
