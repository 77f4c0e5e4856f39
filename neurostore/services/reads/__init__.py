"""The read side, by concept.

- :mod:`.pagination`: keyset pages and sort orders shared by every list.
- :mod:`.roots`: visibility, version and timestamps of aggregate root rows.
- :mod:`.studies`: study and publication filters, lists and states.
- :mod:`.collections`: studysets and annotations.
- :mod:`.children`: analyses, tables, points and images, cut out of their study.
- :mod:`.lookups`: users' profiles and conditions.
- :mod:`.documents`: study documents as JSON text, stored and cached.
- :mod:`.service`: :class:`~.service.ReadService`, what the API and the CLI call.
"""
