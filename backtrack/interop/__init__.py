"""What backtrack exchanges with other software, each in one module:

- :mod:`.fhir` writes the log for a clinic system: a FHIR R4B transaction Bundle of
  pain and exercise Observations (``backtrack export --fhir``);
- :mod:`.loop` reads days from the Loop Habit Tracker app's CSV export (a zip) and appends
  the ones not logged yet (``backtrack import-loop``);
- :mod:`.repair` reads back a log that a spreadsheet re-saved in its own CSV dialect and
  writes a new file in the log's spelling, listing every change (``backtrack repair``).

They build on the core (schema, store, routine, actions' input checks); within the
package only the ``backtrack`` command imports them, when one of those commands runs.
"""
