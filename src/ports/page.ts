/** One page of a listing and the total count of the whole listing (Harbor's X-Total-Count). */
export interface Page<T> {
  items: T[];
  total: number;
}
